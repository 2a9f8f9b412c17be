"""Task, space and strategy options from the command line: the repeatable
``--task-option KEY=VALUE`` (and ``--space-option``, ``--strategy-option``) of `nas search`,
`nas check` and `nas train`, merged over a config file's ``task_config``, ``space_config``
and ``strategy_options``."""

from __future__ import annotations

import json

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
