"""`nas spaces`, `nas check` and `nas ops`: what is registered, and whether a space works."""

from __future__ import annotations

import random

import torch
import typer
from rich.table import Table

import nas
from cli._common import FAILURE, console, fail, load_task


def spaces_cmd() -> None:
    """List the registered search spaces with a one-line description each.

    \b
    Example: nas spaces
    """
    table = Table("space", "description")
    for name in nas.list_spaces():
        table.add_row(name, nas.space_doc(name))
    console.print(table)


def tasks_cmd() -> None:
    """List the registered tasks with a one-line description each.

    \b
    Example: nas tasks
    """
    table = Table("task", "description")
    for name in nas.list_tasks():
        table.add_row(name, nas.task_doc(name))
    console.print(table)


def strategies_cmd() -> None:
    """List the registered strategies (controllers) with a one-line description each.

    \b
    Example: nas strategies
    """
    from nas.strategies import list_strategies, strategy_doc

    table = Table("strategy", "description")
    for name in list_strategies():
        table.add_row(name, strategy_doc(name))
    console.print(table)


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


def _io_for(space: str, task: str | None, config: dict):
    if task is None:
        return nas.get_space(space, **config)
    t = load_task(task)
    from nas.worker import space_config_for

    return nas.get_space(space, in_shape=t.in_shape, n_out=t.n_out,
                         **space_config_for(t, config))


def check_cmd(
    space: str = typer.Argument(..., help="A registered space, or path/to/file.py:function."),
    task: str = typer.Option(None, "--task", help="Bind the space to this task's input "
                             "shape and output size (default: the space's example I/O)."),
    samples: int = typer.Option(5, "--samples", min=1, help="Architectures to sample."),
    seed: int = typer.Option(0, "--seed", help="Sampling seed."),
) -> None:
    """Sample architectures from a space, build, compile and run forward+backward on a tiny
    batch; print decisions, parameters and FLOPs. Exits non-zero when the space is broken.

    \b
    Examples:
      nas check cnn --samples 10
      nas check mlp --task mnist1d
      nas check my_spaces.py:tiny_cnn
    """
    try:
        s = _io_for(space, task, {})
    except nas.SpaceError as exc:
        raise fail(str(exc)) from None
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
