"""`nas export` (a searched candidate as standalone PyTorch) and `nas train` (train one fully)."""

from __future__ import annotations

from pathlib import Path

import typer

import nas
from cli._common import (
    FAILURE,
    STORAGE_OPTION,
    STUDY_OPTION,
    console,
    fail,
    load_task,
    read_architecture,
    writable,
)
from cli._inherited import inherited_graph
from cli._options import TASK_OPTION, parse_options
from cli._status import open_run
from nas.export import ExportError

FORMATS = ("python", "exported", "torchscript", "onnx")


def _formats(text: str) -> tuple[str, ...]:
    formats = tuple(f.strip() for f in text.split(",") if f.strip())
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise fail(f"--format takes a comma list of {', '.join(FORMATS)}; got {text!r}")
    return formats if "python" in formats else ("python", *formats)


def _load_weights(path: Path) -> dict:
    import torch

    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:
        raise fail(f"weights file '{path}' is corrupt or not a weights file ({exc})") from None


def export_cmd(
    run_dir: Path = typer.Argument(None, help="A run folder (or use --storage/--study)."),
    rank: int = typer.Option(1, "--rank", min=1, help="Export the K-th best trial."),
    trial: int = typer.Option(None, "--trial", help="Export trial number N instead."),
    out: Path = typer.Option(None, "--out", help="Folder to write (default "
                             "RUN_DIR/export/trial_N)."),
    fmt: str = typer.Option("python", "--format", help="Comma list of python, exported "
                            "(torch.export .pt2), torchscript, onnx."),
    storage: str = STORAGE_OPTION,
    study: str = STUDY_OPTION,
) -> None:
    """Export a searched architecture as standalone PyTorch: model.py (imports only torch),
    its weights when the search kept them (--keep-weights), architecture.json,
    metrics.json and a model card.

    \b
    Examples:
      nas export runs/cnn-mnist1d-20261125-101500
      nas export runs/cnn-mnist1d-20261125-101500 --rank 2 --format python,exported
      nas export runs/cnn-mnist1d-20261125-101500 --trial 17 --out best_model
    """
    from nas.artifacts import ArtifactError
    from nas.storage import storage_folder
    from nas.weights import trial_weights

    formats = _formats(fmt)
    st = open_run(run_dir, storage, study)
    rec = _pick(st, rank, trial)
    config = st.config
    try:
        wpath = trial_weights(st, rec.number, storage_folder(storage, run_dir))
    except ArtifactError as exc:
        raise fail(str(exc), FAILURE) from None
    state = _load_weights(wpath) if wpath else None
    if state is None:
        console.print(f"[yellow]note:[/] the search kept no weights for trial {rec.number} "
                      "(search with --keep-weights K); exporting an untrained model. Train it "
                      "with: nas train OUT_DIR --task " + str(config.get("task", "TASK")))
    base = Path(run_dir) if run_dir else Path(".")
    default_out = out is None
    out = out or base / "export" / f"trial_{rec.number}"
    if not writable(out):
        hint = " (the run folder is read-only): write elsewhere with --out DIR" \
            if default_out else ": choose another --out"
        raise fail(f"cannot write the export to '{out}'{hint}")
    metrics = {**rec.objectives, **rec.metrics, "trial": rec.number}
    try:
        path = nas.export(rec.graph, out, state_dict=state, metrics=metrics,
                          task=config.get("task"), formats=formats)
    except (ExportError, ValueError) as exc:
        raise fail(str(exc)) from None
    scores = ", ".join(f"{k} {v:.4g}" for k, v in rec.objectives.items())
    console.print(f"exported trial {rec.number} ({scores}) to {path}", highlight=False)


def _pick(st, rank: int = 1, trial: int | None = None):
    """Trial number ``trial`` of the study, else its ``rank``-th best completed trial."""
    done = st.completed()
    if not done:
        raise fail("the study has no completed trial yet", FAILURE)
    if trial is not None:
        match = [r for r in st.trials() if r.number == trial]
        if not match or match[0].state != "COMPLETE":
            raise fail(f"trial {trial} is not a completed trial of study '{st.name}' "
                       f"(completed: {', '.join(str(r.number) for r in done[:20])})")
        return match[0]
    ranked = st.ranked()
    if rank > len(ranked):
        raise fail(f"--rank {rank} is beyond the {len(ranked)} completed trials")
    return ranked[rank - 1]


def _architecture(arch: Path, trial: int | None) -> tuple[nas.ArchGraph, str, dict]:
    """The graph to train, a name for its export folder and the run's stored settings
    (its task and task_config; {} when unknown), from a run folder, an export folder or
    a JSON file."""
    from nas.storage import JOURNAL

    if arch.is_dir() and (arch / JOURNAL).exists():  # a run folder: its best (or N-th) trial
        st = open_run(arch, None, None)
        rec = _pick(st, 1, trial)
        return rec.graph, f"{arch.name}-trial_{rec.number}", st.config
    if trial is not None:
        raise fail("--trial needs a run folder (with a study) as ARCH")
    json_path = arch / "architecture.json" if arch.is_dir() else arch
    if not json_path.is_file():
        raise fail(f"'{arch}' is not a run folder, an export folder (with "
                   "architecture.json) or an architecture JSON file")
    name = json_path.parent.name if arch.is_dir() else json_path.stem
    return read_architecture(json_path), name, {}


def train_cmd(
    arch: Path = typer.Argument(..., help="A run folder (its best trial), an export folder "
                                "or an architecture.json."),
    task: str = typer.Option(None, "--task", help="Task to train on (nas tasks). Default: the "
                             "run's task, else mnist1d."),
    trial: int = typer.Option(None, "--trial", help="With a run folder: trial N instead of "
                              "the best."),
    steps: int = typer.Option(None, "--steps", min=1, help="Training steps."),
    epochs: float = typer.Option(None, "--epochs", help="Training epochs."),
    budget: str = typer.Option(None, "--budget", help="Or any budget: 4000steps, 20epochs, "
                               "5m. Default: 4000steps."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    seed: int = typer.Option(0, "--seed", help="Training seed."),
    out: Path = typer.Option(None, "--out", help="Export folder to write (default "
                             "trained/<arch name>)."),
    fmt: str = typer.Option("python", "--format", help="Export formats (see nas export)."),
    task_option: list[str] = TASK_OPTION,
    from_inherited: bool = typer.Option(False, "--from-inherited", help="With a run folder: "
                                        "start from the weights the search trained for the "
                                        "trial (kept weights; a grown model's lineage), with "
                                        "an export folder from its weights, and fine-tune, "
                                        "instead of from scratch."),
) -> None:
    """Train an architecture from scratch with a full budget (a search trains briefly),
    report its test metrics and write the export folder.

    \b
    Examples:
      nas train runs/cnn-mnist1d-20261125-101500
      nas train runs/cnn-mnist1d-20261125-101500 --trial 7 --steps 8000
      nas train runs/cnn-mnist1d-20261125-101500/export/trial_7 --steps 4000
      nas train arch.json --task mnist1d --epochs 50 --out my_model
      nas train arch.json --task csv:data.csv --task-option target=label
      nas train runs/grow-mnist1d-20261125-101500 --from-inherited --steps 2000
    """
    formats = _formats(fmt)
    graph, name, run = _architecture(arch, trial)
    if from_inherited:
        graph = inherited_graph(arch, trial, _pick)
    task = task or run.get("task") or "mnist1d"
    # the run's task is rebuilt as it was searched (its task_config and, for your own
    # data, its stored data file), another one plainly; --task-option over either
    same = task == run.get("task")
    data = {"data": str(arch / run["data"])} if same and run.get("data") else {}
    typed = parse_options(task_option, "--task-option")
    t = load_task(task, typed, **{**(run.get("task_config") or {} if same else {}), **data,
                                  **typed})
    given = [x for x in (steps, epochs, budget) if x is not None]
    if len(given) > 1:
        raise fail("give one of --steps, --epochs or --budget")
    text = f"{steps}steps" if steps else f"{epochs}epochs" if epochs else budget or "4000steps"
    try:
        b = nas.Budget.parse(text)
    except ValueError as exc:
        raise fail(str(exc)) from None
    out = out or Path("trained") / name
    if not writable(out):  # before training, not after
        raise fail(f"cannot write the trained model to '{out}': choose another --out")
    try:  # a graph that cannot be built (e.g. features: -5) is the file's fault
        n_params = nas.count_params(graph)
    except nas.GraphError as exc:
        raise fail(f"'{arch}': {exc}") from None
    console.print(f"training {name} on {task} for {b} ({n_params:,} parameters)",
                  highlight=False)
    with _TrainProgress(b, t.objective[0]) as report:
        result = t.evaluate(graph, budget=b, seed=seed, device=device, keep_weights=True,
                            report=report)
    if not result.ok:
        raise fail(f"training failed: {result.error}", FAILURE)
    metrics = {**result.objectives, **result.metrics}
    console.print(_metrics_line(metrics, t.objective[0]), highlight=False)
    path = nas.export(graph, out, state_dict=result.state_dict, metrics=metrics, task=task,
                      formats=formats)
    console.print(f"wrote {path}", highlight=False)


SHOWN = ("val_acc", "test_acc", "test_ppl", "test_mse", "val_loss", "test_loss", "params",
         "flops", "train_time_s")  # what nas train prints after training, in this order


def _metrics_line(metrics: dict, objective: str) -> str:
    """'val_acc 0.9912, test_acc 0.991, ..., params 41,514, train_time_s 25.3'."""
    parts = []
    for key in dict.fromkeys((objective, *SHOWN)):
        v = metrics.get(key)
        if not isinstance(v, int | float) or isinstance(v, bool):
            continue
        text = f"{int(v):,}" if key in ("params", "flops") else \
            f"{v:.1f}" if key == "train_time_s" else f"{v:.4g}"
        parts.append(f"{key} {text}")
    return ", ".join(parts)


class _TrainProgress:
    """A progress bar fed by the trainer's report(step, value) (every 100 steps): steps
    done, the validation objective and the time; it leaves one line when done."""

    def __init__(self, budget: nas.Budget, objective: str):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.objective = objective
        total = int(budget.amount) if budget.unit == "steps" else None
        self.bar = Progress(TextColumn("training"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("steps  {task.fields[score]}"), TimeElapsedColumn(),
                            console=console, transient=False)
        self.task = self.bar.add_task("train", total=total, score="")

    def __call__(self, step: int, value: float) -> bool:
        self.bar.update(self.task, completed=step, score=f"{self.objective} {value:.4g}")
        return False  # never stop early

    def __enter__(self):
        self.bar.start()
        return self

    def __exit__(self, *exc):
        self.bar.stop()
        return False
