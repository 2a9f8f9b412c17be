"""Task, space and strategy options from the command line: the repeatable
``--task-option KEY=VALUE`` (and ``--space-option``, ``--strategy-option``) of `nas search`,
`nas check` and `nas train`, merged over a config file's ``task_config``, ``space_config``
and ``strategy_options``; an error about one of them names the flag and key as typed
(``blame``)."""

from __future__ import annotations

import json
import re

import typer

from cli._common import fail

VALUE_HELP = "a value is read as JSON when it parses (3, 0.1, true, [\"a\",\"b\"]), else as text"
TASK_OPTION = typer.Option(None, "--task-option", metavar="KEY=VALUE", help=(
    "A task option (nas tasks lists them), e.g. --task-option target=label; repeatable; "
    f"{VALUE_HELP}. Same as task_config in a config file."))
SPACE_OPTION = typer.Option(None, "--space-option", metavar="KEY=VALUE", help=(
    "A space setting, e.g. --space-option max_depth=6; repeatable. Same as space_config."))
STRATEGY_OPTION = typer.Option(None, "--strategy-option", metavar="KEY=VALUE", help=(
    "A strategy option, e.g. --strategy-option population=20; repeatable. Same as "
    "strategy_options."))
FLAGS = {"task_config": "--task-option", "space_config": "--space-option",
         "strategy_options": "--strategy-option"}


def parse_value(text: str):
    """'3' -> 3, '0.1' -> 0.1, 'true' -> True, '[1, 2]' -> [1, 2], 'label' -> 'label'."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_options(items: list[str] | None, flag: str) -> dict:
    """['target=label', 'kind=classification'] -> {'target': 'label', ...}; a later KEY
    wins. An item without '=' or with an empty key exits 2 naming the flag."""
    out = {}
    for item in items or ():
        key, eq, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not eq or not key.isidentifier():
            raise fail(f"{flag} {item!r}: write KEY=VALUE, e.g. {flag} "
                       f"{'target=label' if flag == '--task-option' else 'population=20'}")
        out[key] = parse_value(value)
    return out


def merge_options(settings: dict, from_file: set, given: dict[str, list[str] | None]) -> None:
    """Merge ``--*-option`` flags (``given``: 'task_config' -> the flag's items) over the
    mappings ``settings`` holds already (a config file's), in place; a mapping a flag
    touched is no longer the config file's alone (``from_file``)."""
    for key, items in given.items():
        options = parse_options(items, FLAGS[key])
        if options:
            settings[key] = {**(settings.get(key) or {}), **options}
            from_file.discard(key)


def options_text(options: dict) -> str:
    """{'target': None, 'kind': 'auto'} -> "target=None, kind='auto'"."""
    return ", ".join(f"{k}={v!r}" for k, v in options.items())


FROM_CONFIG = " (task_config)"  # how nas.SearchConfig marks a task error of its options


def blame(text: str, options: dict, flag: str, suspects: list[str] | None = None,
          must_name: bool = False) -> str:
    """An error about options given with ``flag``, said as typed: "--task-option
    features=xyz: features must be ...". The option is the one the text names, else the
    ``suspects`` (say, values of another type than the default), else every option; with
    ``must_name``, a text naming none of them is returned unchanged."""
    text = text.removesuffix(FROM_CONFIG)
    named = [k for k in options if re.search(rf"(?<![\w-]){re.escape(k)}(?![\w-])", text)]
    keys = named[:1] or [k for k in suspects or () if k in options] or \
        ([] if must_name else list(options))
    if not keys:
        return text
    typed = " ".join(f"{flag} {k}={_as_typed(options[k])}" for k in keys)
    return f"{typed}: {text}"


def _as_typed(value) -> str:
    """A value as the user typed it: text as is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def mistyped(options: dict, defaults: dict) -> list[str]:
    """The options whose value is of another kind than their default's (text for a
    number, say): the likely cause of a TypeError deep inside."""
    def kind(v) -> str:
        return "bool" if isinstance(v, bool) else "number" if isinstance(v, int | float) \
            else type(v).__name__
    return [k for k, v in options.items()
            if defaults.get(k) is not None and kind(v) != kind(defaults[k])]


def mode_settings(merged: dict, given: dict, on: bool, flags: dict, *, key: str,
                  prefix: str, names: tuple[str, ...], check, trials: int) -> dict:
    """A search mode's settings (``one_shot``, ``differentiable``) resolved: its switch
    (``--one-shot``, ``--differentiable``) and the config file's ``key`` (true or a
    mapping) with the ``--PREFIX-X`` ``flags`` on top, checked by ``check`` (its
    ConfigError's ``key.X`` renamed to the flag); ``trials``: the mode's default trial
    count when the user gave none (``given``: the settings from file and flags).
    Exits 2 on a bad value."""
    from nas.settings import ConfigError

    flags = {k: v for k, v in flags.items() if v is not None}
    base = merged.get(key)
    if not (on or base):
        if flags:
            mode = key.replace("_", "-")
            raise fail(f"{', '.join(f'--{prefix}-{k}' for k in flags)} is for a {mode} "
                       f"search: add --{mode}")
        return merged
    if base is None or base is True:
        base = {}
    if not isinstance(base, dict):
        raise fail(f"{key} must be true, false or a mapping of its settings "
                   f"({', '.join(names)}, ...), got {base!r}")
    out = {**merged, key: {**base, **flags}}
    try:
        check(out[key])
    except ConfigError as exc:
        text = str(exc)
        for k in flags:
            text = text.replace(f"{key}.{k}", f"--{prefix}-{k}")
        raise fail(text) from None
    if "trials" not in given:
        out["trials"] = trials
    return out
