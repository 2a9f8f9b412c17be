"""Reading `--config` files (YAML or TOML) and `--objectives` strings."""

from __future__ import annotations

import difflib
from pathlib import Path

import typer

from cli._common import fail


def load_config(path: Path, allowed: set[str]) -> dict:
    """Options from a YAML (.yaml/.yml) or TOML (.toml) file; unknown keys are an error."""
    if not path.is_file():
        raise fail(f"config file '{path}' does not exist")
    text = path.read_text()
    try:
        if path.suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            raise fail(f"config file '{path}' must end in .yaml, .yml or .toml")
    except typer.Exit:
        raise
    except Exception as exc:  # yaml.YAMLError, tomllib.TOMLDecodeError
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise fail(f"config file '{path}' is malformed: {first}") from None
    if not isinstance(data, dict):
        raise fail(f"config file '{path}' must hold a mapping of option: value")
    data = {k.replace("-", "_"): v for k, v in data.items()}
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise fail(f"config file '{path}': unknown option '{key}'{hint}; known: "
                       f"{', '.join(sorted(allowed))}")
    for key in ("space_config", "task_config", "strategy_options"):
        if key in data and not isinstance(data[key], dict):
            raise fail(f"config file '{path}': '{key}' must be a mapping")
    return data


def parse_objectives(text: str | list) -> list[tuple[str, str]]:
    """'val_acc:max,params:min' -> [('val_acc', 'max'), ('params', 'min')]."""
    items = text if isinstance(text, list) else [s for s in str(text).split(",") if s.strip()]
    out = []
    for item in items:
        name, _, direction = (item if isinstance(item, str) else ":".join(item)).partition(":")
        name, direction = name.strip(), (direction.strip() or "max").lower()
        if not name or direction not in ("max", "min"):
            raise fail(f"cannot read objective {item!r}: write name:max or name:min, e.g. "
                       '"val_acc:max,params:min"')
        out.append((name, direction))
    if len({n for n, _ in out}) != len(out):
        raise fail(f"objectives {text!r} name one objective twice")
    return out
