"""The leaderboard and progress line that `nas search` and `nas status` print.

Readable at 80 columns: short state words, compact FLOPs, and the decisions either in
their own column (wide terminals) or listed under the table (narrow ones).
"""

from __future__ import annotations

import json
import math
import textwrap

from rich import box
from rich.table import Table

from cli._common import console

STATES = {"COMPLETE": "ok", "FAIL": "failed", "PRUNED": "pruned", "RUNNING": "running",
          "WAITING": "waiting"}
METRICS = ("test_acc", "params", "flops", "latency_ms")
DECISIONS_MIN_WIDTH = 36  # narrower than this, decisions go under the table...
NOTES = 3  # ...for the best few trials (and failed ones with their reasons)


def status_line(st) -> str:
    """study 'search' (cnn on mnist1d, evolution): 12 trials of 20 finished (11 ok, 1 failed);
    a trial stopped by Ctrl-C or a dead worker is 'stopped', not counted as finished."""
    trials = st.trials()
    cfg = st.config
    method = "differentiable" if cfg.get("differentiable") else cfg.get("strategy", "?")
    what = f" ({cfg['space']} on {cfg['task']}, {method})" if "space" in cfg else ""
    counts = {STATES.get(s, s.lower()): sum(r.state == s and not r.stopped for r in trials)
              for s in ("COMPLETE", "FAIL", "PRUNED", "RUNNING")}
    counts["stopped (not counted)"] = sum(r.finished and r.stopped for r in trials)
    shown = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "none yet"
    finished = sum(r.counts for r in trials)
    target = "" if "trials" in cfg and cfg["trials"] is None else f" of {cfg.get('trials', '?')}"
    plural = "" if finished == 1 else "s"
    return f"study '{st.name}'{what}: {finished} trial{plural}{target} finished ({shown})"


def compact(value: float) -> str:
    """12,345 -> '12.3k', 2,371,200 -> '2.37M' (for FLOPs)."""
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def _cell(column: str, value) -> str:
    if isinstance(value, float):
        if value != value:
            return "-"
        if column == "params":
            return f"{value:,.0f}"
        if column == "flops":
            return compact(value)
        return f"{value:.4g}"
    return str(value)


def print_leaderboard(st, top: int = 10) -> None:
    """The best ``top`` trials (failed ones last), one row each."""
    df = st.leaderboard()
    if df.empty:
        console.print("no trials yet")
        return
    names = [n for n, _ in st.objectives]
    cols = ["number", "state", *names] + [c for c in METRICS if c in df and c not in names]
    rows = df.head(top)
    capped = _capped(df)
    short = capped | df["state"].eq("PRUNED")  # a time cap or a pruner cut them short
    if short[rows.index].any():  # trained/planned steps of those
        rows = rows.assign(steps=[_steps(row, cut) for (_, row), cut in
                                  zip(rows.iterrows(), short[rows.index])])
        cols.insert(cols.index("state") + 1, "steps")
    table = Table(title=f"leaderboard: best {len(rows)} of {len(df)} trials", title_justify="left",
                  header_style="bold", box=box.SIMPLE_HEAD)
    for c in cols:
        table.add_column("#" if c == "number" else c, no_wrap=True,
                         justify="left" if c == "state" else "right")
    widths = [max(len(c), *(len(_cell(c, v)) for v in rows[c])) for c in cols]
    room = console.width - sum(widths) - 3 * len(cols) - 3
    inline = room >= DECISIONS_MIN_WIDTH
    if inline:
        table.add_column("decisions", no_wrap=True, overflow="ellipsis", max_width=room)
    notes = []
    front = {r.number for r in st.pareto_front()} if len(names) > 1 else set()
    timed = {r.number for r in st.trials(("PRUNED",)) if r.stopped}  # by the timeout
    for _, row in rows.iterrows():
        cells = [STATES.get(row["state"], row["state"]) if c == "state" else _cell(c, row[c])
                 for c in cols]
        if row["number"] in timed:
            cells[cols.index("state")] = "stopped"
        if row["number"] in front:
            cells[0] += "*"
        what = _what(row)
        if inline:
            cells.append(what)
        elif len(notes) < NOTES or row["state"] == "FAIL":
            notes.append(f"#{row['number']}: {what}")
        table.add_row(*cells)
    console.print(table)
    if front:
        console.print(f"*: on the Pareto front ({len(front)} trials: no other trial is better "
                      f"in every objective)", highlight=False)
    if capped.any():
        console.print(f"{int(capped.sum())} of {len(df)} trials capped: the time cap of the "
                      "budget cut their training short (steps: trained/planned), so they score "
                      "a shorter schedule.", highlight=False)
    if timed:
        console.print(f"{len(timed)} of {len(df)} trials stopped at the timeout (steps: "
                      "reached/planned): not counted; their score is the last value they "
                      "reported, ranked below every finished trial.", highlight=False)
    pruned = int(df["state"].eq("PRUNED").sum()) - len(timed)
    if pruned:
        console.print(f"{pruned} of {len(df)} trials pruned: a pruner stopped their training "
                      "at the step shown (steps: reached/planned); their score is the last "
                      "value they reported, ranked below every finished trial.",
                      highlight=False)
    if notes:
        console.print(f"decisions of the best {min(NOTES, len(rows))} (of every trial: "
                      "nas status --format csv):", highlight=False)
        for note in notes:
            console.print(textwrap.fill(note, console.width - 1, initial_indent="  ",
                                        subsequent_indent="      "), highlight=False)


def _capped(df):
    """A boolean Series: which trials a time cap cut short."""
    if "capped" not in df:
        return df["state"] != df["state"]
    return df["capped"].eq(True)


def _steps(row, capped: bool) -> str:
    """'412/1000' for a trial cut short (capped or pruned), '1000' for one that trained its
    budget ('412' when the task does not say what it planned)."""
    steps, planned = row.get("steps"), row.get("planned_steps")
    if not isinstance(steps, float) or steps != steps:
        return "-"
    if not capped or not isinstance(planned, float) or planned != planned:
        return f"{steps:.0f}"
    return f"{steps:.0f}/{planned:.0f}"


def _what(row) -> str:
    """A failed trial's reason, or the trial's decisions as name=value pairs."""
    if row["state"] == "FAIL" and isinstance(row.get("error"), str) and row["error"]:
        return row["error"]
    decisions = json.loads(row["decisions"])
    return " ".join(f"{k}={_short(v)}" for k, v in decisions.items())


def _short(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) and math.isfinite(value) else str(value)
