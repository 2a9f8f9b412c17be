"""`nas status RUN --trial N`: one trial in full, a failed one with its traceback."""

from __future__ import annotations

import json

from cli._common import console, fail


def trial_or_exit(st, number: int):
    """Trial ``number`` of the study, or exit 2 naming the trials it has."""
    numbers = [r.number for r in st.trials()]
    if number not in numbers:
        shown = f"0 to {max(numbers)}" if numbers else "none yet"
        raise fail(f"--trial {number}: no such trial in study '{st.name}' (trials: {shown})")
    return st.trial(number)


def lineage_lines(lineage: dict | None) -> list[str]:
    """A graph-edit candidate's parent, edits and inherited share (``nas.GraphSpace``)."""
    if not lineage:
        return []
    return [f"  parent: {lineage.get('parent')} (weights from {lineage.get('weights_from')})",
            "  edits: " + ("; ".join(lineage.get("edits", [])) or "none (the seed)"),
            f"  inherited: {lineage.get('inherited', 0.0):.1%} of the parameters"]


def print_trial(st, number: int, fmt: str) -> None:
    """Trial ``number``: state, objectives, metrics, decisions and, when it failed, its
    reason and full traceback (``fmt`` json: its record as one JSON object)."""
    if fmt not in ("table", "json"):
        raise fail("--trial shows one trial: use --format table or json")
    rec = trial_or_exit(st, number)
    if fmt == "json":
        print(json.dumps(rec.to_dict(), indent=2, default=str))
        return
    lines = [f"trial {rec.number}: {rec.state.lower()}" +
             (" (stopped: not counted)" if rec.stopped else "")]
    lines += [f"  {k}: {v:.6g}" if isinstance(v, float) else f"  {k}: {v}"
              for k, v in {**rec.objectives, **rec.metrics}.items()]
    lines.append("  decisions: " + " ".join(f"{k}={v}" for k, v in rec.decisions.items()))
    lines += lineage_lines(rec.attrs.get("lineage"))
    if rec.error:
        lines.append(f"  error: {rec.error}")
    console.print("\n".join(lines), highlight=False, markup=False, soft_wrap=True)
    if rec.traceback:
        console.print("traceback:", highlight=False)
        print(rec.traceback, end="" if rec.traceback.endswith("\n") else "\n")
    elif rec.state == "FAIL":
        console.print("(no traceback: the failure was not an exception, or the trial ran "
                      "before tracebacks were kept)", highlight=False)
