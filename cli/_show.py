"""`nas show`: a trial's architecture as a picture (PNG, SVG, PDF), DOT, Mermaid or text."""

from __future__ import annotations

import json
from pathlib import Path

import typer

import nas
from cli import _draw
from cli._common import STORAGE_OPTION, STUDY_OPTION, console, fail, read_architecture
from cli._show_parent import marked_nodes, show_with_parent

TEXT_FORMATS = ("summary", "dot", "mermaid")
SUFFIXES = {".png": "png", ".svg": "svg", ".pdf": "pdf", ".dot": "dot", ".gv": "dot",
            ".mmd": "mermaid", ".mermaid": "mermaid", ".txt": "summary"}
ENGINES = ("auto", "graphviz", "matplotlib")


def show_cmd(
    source: Path = typer.Argument(None, help="A run folder, an export folder or an "
                                  "architecture.json (or use --storage/--study)."),
    trial: int = typer.Option(None, "--trial", help="Trial number (default: the best trial)."),
    out: Path = typer.Option(None, "--out", help="File to write: .png, .svg, .pdf, .dot, "
                             ".mmd or .txt. Default: a text summary on the terminal."),
    fmt: str = typer.Option(None, "--format", help="png, svg, pdf, dot, mermaid or summary "
                            "(default: from the --out suffix)."),
    engine: str = typer.Option("auto", "--engine", help="Pictures with auto (Graphviz dot "
                               "when installed, else matplotlib), graphviz or matplotlib."),
    parent: bool = typer.Option(False, "--parent", help="A graph-edit candidate (`nas "
                                "search --from`) beside its parent, the nodes its last "
                                "edit made or changed marked (pictures: a second file "
                                "NAME.parent.SUFFIX)."),
    storage: str = STORAGE_OPTION,
    study: str = STUDY_OPTION,
) -> None:
    """Show the architecture of a trial: a layered picture with every op, its key
    parameters and output shape, coloured by kind of op; or DOT, Mermaid or a text table.

    \b
    Examples:
      nas show runs/cnn-mnist1d-20261125-101500
      nas show runs/cnn-mnist1d-20261125-101500 --trial 7 --out arch.png
      nas show runs/cnn-mnist1d-20261125-101500 --out arch.mmd
      nas show runs/cnn-mnist1d-20261125-101500/export/trial_7 --format dot
      nas show runs/grow-20261125-101500 --trial 7 --parent --out grow.png
    """
    fmt = _format(out, fmt)
    if engine not in ENGINES:
        raise fail(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    graph, title = _graph(source, trial, storage, study)
    if parent:
        for path in show_with_parent(graph, title, out, fmt, lambda g, p, t, m: _picture(
                g, p, fmt, t, engine, m)):
            console.print(f"wrote {path}", highlight=False)
        return
    if fmt in TEXT_FORMATS:
        text = {"summary": lambda: f"{title}\n{_marked(graph.summary(), graph)}",
                "dot": lambda: _draw.styled_dot(graph, title),
                "mermaid": graph.to_mermaid}[fmt]()
        if out is None:
            print(text)
            return
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
    else:
        _picture(graph, out, fmt, title, engine)
    console.print(f"wrote {out}", highlight=False)


def _marked(summary: str, graph: nas.ArchGraph) -> str:
    """A graph-edit candidate's summary (``nas.GraphSpace``): the nodes its last edit made
    or changed against its parent marked ``*``, and its edits below."""
    lineage = graph.meta.get("lineage")
    if not lineage:
        return summary
    changed = set(lineage.get("changed", []))
    lines = [("* " if line.split(" ", 1)[0] in changed else "  ") + line
             for line in summary.splitlines()]
    lines.append(f"* made or changed by the last edit against parent {lineage['parent']}; "
                 f"edits from the seed: {'; '.join(lineage['edits']) or 'none'}")
    return "\n".join(lines)


def _format(out: Path | None, fmt: str | None) -> str:
    """The output format: --format, else the --out suffix, else a text summary."""
    known = sorted(set(SUFFIXES.values()))
    if fmt is not None and fmt not in known:
        raise fail(f"--format must be one of {', '.join(known)}, got {fmt!r}")
    if out is None:
        if fmt in _draw.IMAGE_FORMATS:
            raise fail(f"--format {fmt} makes a picture: give a file with --out arch.{fmt}")
        return fmt or "summary"
    implied = SUFFIXES.get(out.suffix.lower())
    if fmt is None and implied is None:
        raise fail(f"cannot tell the format of '{out}' from its suffix: use one of "
                   f"{', '.join(SUFFIXES)} or pass --format")
    if fmt is not None and implied is not None and implied != fmt:
        raise fail(f"--out '{out}' is a {implied} file but --format is {fmt}; make them agree")
    return fmt or implied


def _graph(source: Path | None, trial: int | None, storage: str | None,
           study: str | None) -> tuple[nas.ArchGraph, str]:
    """The architecture to show and a one-line title."""
    from nas.storage import JOURNAL

    if storage is None and source is not None and not (source / JOURNAL).exists():
        return _from_file(source, trial)
    from cli._status import open_run

    st = open_run(source, storage, study)
    records = st.trials()
    if trial is None:
        rec = st.best
        if rec is None:
            raise fail(f"study '{st.name}' has no completed trial yet; pick one with --trial N")
    else:
        match = [r for r in records if r.number == trial]
        if not match:
            numbers = f"0 to {records[-1].number}" if records else "none yet"
            raise fail(f"no trial {trial} in study '{st.name}' (its trials: {numbers})")
        rec = match[0]
    try:
        graph = rec.graph
    except (ValueError, nas.GraphError) as exc:
        raise fail(str(exc)) from None
    scores = [f"{k} {v:.4g}" for k, v in rec.objectives.items()]
    if "params" in rec.metrics and "params" not in rec.objectives:
        scores.append(f"params {int(rec.metrics['params']):,}")
    state = "" if rec.state == "COMPLETE" else f" ({rec.state.lower()}: {rec.error or ''})"
    return graph, f"trial {rec.number}{state}" + (": " + ", ".join(scores) if scores else "")


def _from_file(source: Path, trial: int | None) -> tuple[nas.ArchGraph, str]:
    """An export folder (architecture.json and metrics.json) or an architecture file."""
    path = source / "architecture.json" if source.is_dir() else source
    if not path.is_file():
        raise fail(f"'{source}' is neither a run folder (no study.journal), an export folder "
                   "nor an architecture JSON file")
    if trial is not None:
        raise fail("--trial picks a trial of a run folder; this is a single architecture")
    graph = read_architecture(path)
    title = path.parent.name if source.is_dir() else path.stem
    metrics_file = path.parent / "metrics.json"
    if source.is_dir() and metrics_file.is_file():
        try:
            metrics = json.loads(metrics_file.read_text())
        except json.JSONDecodeError:
            metrics = {}
        if not isinstance(metrics, dict) or metrics.get("trained") is False:
            return graph, title + " (untrained weights)"
        shown = [f"{k} {v:.4g}" for k, v in metrics.items()
                 if k in ("val_acc", "test_acc", "val_ppl", "val_loss") and
                 isinstance(v, int | float)]
        title += (": " + ", ".join(shown)) if shown else ""
    return graph, title


def _picture(graph: nas.ArchGraph, out: Path, fmt: str, title: str, engine: str,
             marked: frozenset[str] | None = None) -> None:
    marked = marked_nodes(graph) if marked is None else marked
    if engine == "graphviz" or (engine == "auto" and _draw.has_graphviz()):
        if not _draw.has_graphviz():
            raise fail("--engine graphviz needs Graphviz's `dot` on the PATH (e.g. apt-get "
                       "install graphviz); --engine matplotlib needs nothing more")
        try:
            _draw.render_graphviz(graph, out, fmt, title, marked)
        except RuntimeError as exc:
            raise fail(str(exc), 1) from None
    else:
        _draw.draw(graph, out, title=title, fmt=fmt, marked=marked)
