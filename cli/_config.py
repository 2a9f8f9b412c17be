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


def parse_objectives(text: str | list) -> list[tuple[str, str | None]]:
    """'val_acc:max,params' -> [('val_acc', 'max'), ('params', None)]: a name without a
    direction gets the one its task declares (``nas.metrics.resolve_objectives``)."""
    if isinstance(text, str):
        items = [s for s in text.split(",") if s.strip()]
    elif isinstance(text, list) and all(isinstance(i, str | list | tuple) for i in text):
        items = text
    else:
        raise fail(f"objectives must be text such as \"val_acc:max,params:min\" or a list "
                   f"of such names, got {text!r}")
    out = []
    for item in items:
        parts = item.split(":") if isinstance(item, str) else [str(p) for p in item]
        name, direction = parts[0].strip(), (":".join(parts[1:]).strip().lower() or None)
        if not name or len(parts) > 2 or direction not in ("max", "min", None):
            raise fail(f"cannot read objective {item!r}: write name:max or name:min, e.g. "
                       '"val_acc:max,params:min"')
        out.append((name, direction))
    if not out:
        raise fail(f"objectives {text!r} name no objective; e.g. \"val_acc:max\"")
    if len({n for n, _ in out}) != len(out):
        raise fail(f"objectives {text!r} name one objective twice")
    return out
