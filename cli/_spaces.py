"""`nas spaces`, `nas check` and `nas ops`: what is registered, and whether a space works."""

from __future__ import annotations

import random
from collections.abc import Callable

import torch
import typer
from rich.table import Table

import nas
from cli._common import FAILURE, console, fail
from cli._options import (
    FROM_CONFIG,
    SPACE_OPTION,
    TASK_OPTION,
    blame,
    mistyped,
    options_text,
    parse_options,
)


def _print_registered(kind: str, names: list[str], doc: Callable[[str], str]) -> None:
    """A table of registered names, each with the first line of its docstring."""
    table = Table(kind, "description")
    for name in names:
        table.add_row(name, doc(name))
    console.print(table)


def spaces_cmd() -> None:
    """List the registered search spaces with a one-line description each.

    \b
    Example: nas spaces
    """
    _print_registered("space", nas.list_spaces(), nas.space_doc)


def tasks_cmd() -> None:
    """List the registered tasks with a one-line description and their options each.

    Give an option with --task-option KEY=VALUE (nas search, check and train), as
    task_config in a config file, or as get_task(name, KEY=VALUE) in Python; the first
    one can also follow the name: csv:data.csv is csv with path=data.csv.

    \b
    Examples:
      nas tasks
      nas search --space mlp --task csv:data.csv --task-option target=label
    """
    table = Table("task", "description", "options (--task-option KEY=VALUE)")
    for name in nas.list_tasks():
        table.add_row(name, nas.task_doc(name), options_text(nas.task_options(name)))
    console.print(table)


def strategies_cmd() -> None:
    """List the registered strategies (controllers) with a one-line description each.

    \b
    Example: nas strategies
    """
    _print_registered("strategy", nas.list_strategies(), nas.strategy_doc)


def ops_cmd() -> None:
    """List the registered primitives with their parameters.

    \b
    Example: nas ops
    """
    table = Table("op", "inputs", "params", "what it does")
    for name in nas.list_ops():
        spec = nas.get_op(name)
        params = ", ".join(k if v is nas.ops.REQUIRED else f"{k}={v}"
                           for k, v in spec.params.items())
        table.add_row(name, spec.arity_text(), params, spec.doc.split(". ")[0])
    console.print(table)


def _options_at_fault(text: str, space: str, task: str | None, options: dict,
                      task_config: dict, seed: int, samples: int) -> bool:
    """Whether a sample that does not build is the ``--space-option`` values' fault, not
    the space's: the space without them builds as many samples (the same ones, unless
    the options change its decisions); when it cannot be made without them, whether
    the error names one of them."""
    try:
        plain = _io_for(space, task, {}, task_config)
    except Exception:  # a space that needs its options
        return blame(text, options, "--space-option", must_name=True) != text
    rng = random.Random(seed)
    try:
        for _ in range(samples):
            plain.build(plain.sample(rng))
    except Exception:  # broken without the options too
        return False
    return True


def _io_for(space: str, task: str | None, config: dict, task_config: dict):
    if task is None:
        if task_config:
            raise fail("--task-option needs --task: the task it configures")
        return nas.get_space(space, **config)
    from nas.settings import ConfigError

    search = nas.SearchConfig(space=space, task=task, space_config=config,
                              task_config=task_config)
    try:
        search.task_object()  # built once; kept for space_object
    except ConfigError as exc:
        known = task_config and task.partition(":")[0] in nas.list_tasks()
        raise fail(blame(str(exc), task_config, "--task-option", mistyped(
            task_config, nas.task_options(task.partition(":")[0]))) if known
            else str(exc).removesuffix(FROM_CONFIG)) from None
    return search.space_object()


def check_cmd(
    space: str = typer.Argument(..., help="A registered space, or path/to/file.py:function."),
    task: str = typer.Option(None, "--task", help="Bind the space to this task's input "
                             "shape and output size (default: the space's example I/O)."),
    samples: int = typer.Option(5, "--samples", min=1, help="Architectures to sample."),
    seed: int = typer.Option(0, "--seed", help="Sampling seed."),
    task_option: list[str] = TASK_OPTION, space_option: list[str] = SPACE_OPTION,
) -> None:
    """Sample architectures from a space, build, compile and run forward+backward on a tiny
    batch; print decisions, parameters and FLOPs. Exits non-zero when the space is broken.

    \b
    Examples:
      nas check cnn --samples 10
      nas check mlp --task mnist1d
      nas check my_spaces.py:tiny_cnn
      nas check mlp --task csv:data.csv --task-option target=label
    """
    options = parse_options(space_option, "--space-option")
    task_config = parse_options(task_option, "--task-option")
    try:
        s = _io_for(space, task, options, task_config)
    except nas.SpaceError as exc:
        raise fail(blame(str(exc), options, "--space-option", must_name=True)) from None
    rng = random.Random(seed)
    table = Table("#", "params", "FLOPs", "fingerprint", "decisions")
    for i in range(samples):
        decisions = {}
        try:
            decisions = s.sample(rng)
            graph = s.build(decisions)
            model = nas.compile_graph(graph)
            inputs = nas.example_inputs(graph, batch=2, seed=seed + i)
            out = model(*inputs)
            outs = out if isinstance(out, tuple) else (out,)
            sum(o.float().square().mean() for o in outs).backward()
            flops = nas.count_flops(model, inputs)
        except (nas.SpaceError, nas.GraphError) as exc:
            if options and _options_at_fault(str(exc), space, task, options, task_config,
                                             seed, i + 1):
                raise fail(blame(str(exc), options, "--space-option")) from None
            raise fail(f"sample {i} of space '{space}' is broken: {exc}", FAILURE) from None
        except (RuntimeError, ValueError, TypeError) as exc:
            raise fail(f"sample {i} of space '{space}' (decisions {decisions}) failed in "
                       f"forward/backward: {type(exc).__name__}: {exc}", FAILURE) from None
        brief = ", ".join(f"{k}={v}" for k, v in decisions.items())
        table.add_row(str(i), f"{nas.count_params(model):,}", f"{flops:,}",
                      graph.fingerprint()[:10], brief if len(brief) < 200 else brief[:197] + "...")
    console.print(table)
    size = s.describe(samples=0, max_enumerate=2000)
    shown = (f"{size['size']:,}" if size["size"] else
             f"about {size['size_estimate']:.3g}" if size["size_estimate"] else "infinitely many")
    console.print(f"space '{space}': {len(s.domains)} decisions, {shown} architectures; "
                  f"all {samples} samples build, compile and train a step (torch "
                  f"{torch.__version__}).")
