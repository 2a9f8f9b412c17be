"""``bench/oneshot.py --trace DECISION``: which parts of a space a supernet learns.

Trains one supernet of the first ``--space`` (the first ``--rules``/``--samplings``,
``--supernet-steps`` candidate passes, ``--supernet-options``) and records every
candidate pass's training loss, grouped by the candidate's value of DECISION (say
``batch_norm``); then scores ``--archs`` sampled candidates with inherited weights.
Per group and fifth of the training: passes, median and largest loss, and the share
of passes whose loss is a spike (above ``SPIKE`` times the chance loss); per group:
the mean one-shot validation accuracy. A group whose median stays at the chance loss
is one the supernet does not learn, and its candidates' one-shot scores mean nothing.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections import defaultdict

import nas
from evaluators import MNIST1D, TrainConfig

FIFTHS = 5
SPIKE = 2.0  # a loss above this many times the chance loss (ln 10 on mnist1d)


def run_trace(args, device: str) -> dict:
    """The trace of ``args.trace`` (see the module doc), as a JSON-able dict."""
    task = MNIST1D(config=TrainConfig(latency_runs=1))
    name, decision = args.space[0], args.trace
    cfg = {"widths": tuple(args.widths)} if args.widths and name == "cnn" else {}
    space = nas.get_space(name, in_shape=task.in_shape, n_out=task.n_out, **cfg)
    net = nas.SuperNet(space, rule=args.rules[0], probe=args.probe, seed=args.seed,
                       **args.supernet_options)
    passes: list[tuple[int, str, float]] = []  # (step, group, loss)

    def on_path(step: int, graph: nas.ArchGraph, loss: float) -> None:
        passes.append((step, group_of(graph, decision), loss))

    t0 = time.perf_counter()
    trained = task.train_supernet(net, f"{args.supernet_steps}steps",
                                  sampling=args.samplings[0], seed=args.seed, device=device,
                                  on_path=on_path, lr=args.supernet_lr)
    if not trained.ok:
        raise RuntimeError(f"supernet training failed: {trained.error}")
    train_s = time.perf_counter() - t0
    graphs = [space.build(space.sample_valid(args.seed * 100_003 + i))
              for i in range(args.archs)]
    scores: dict[str, list[float]] = defaultdict(list)
    for g in graphs:
        r = task.score_inherited(net, g, seed=args.seed, device=device,
                                 calib_batches=args.calib_batches)
        scores[group_of(g, decision)].append(r.value("val_acc") if r.ok else math.nan)
    chance = math.log(task.n_out)
    return {"space": name, "decision": decision, "rule": args.rules[0], "widths": args.widths,
            "sampling": args.samplings[0], "supernet_steps": args.supernet_steps,
            "options": {**args.supernet_options, **({"lr": args.supernet_lr}
                                                    if args.supernet_lr is not None else {})},
            "seed": args.seed, "archs": args.archs,
            "chance_loss": chance, "train_s": train_s,
            "fifths": fifths(passes, chance), "scores": {
                k: {"archs": len(v), "mean_oneshot_acc": _mean(v)}
                for k, v in sorted(scores.items())}}


def group_of(graph: nas.ArchGraph, decision: str) -> str:
    """The candidate's value of ``decision`` as text ("-": it has no such decision)."""
    return str((graph.meta or {}).get("decisions", {}).get(decision, "-"))


def fifths(passes: list[tuple[int, str, float]], chance: float) -> list[dict]:
    """Per fifth of the training steps and group: passes, median and largest loss,
    share of spikes (loss > ``SPIKE`` x ``chance``)."""
    if not passes:
        return []
    last = max(step for step, _, _ in passes)
    rows = []
    for k in range(FIFTHS):
        lo, hi = last * k / FIFTHS, last * (k + 1) / FIFTHS
        groups: dict[str, list[float]] = defaultdict(list)
        for step, group, loss in passes:
            if lo <= step < hi or (k == FIFTHS - 1 and step == last):
                groups[group].append(loss)
        for group, losses in sorted(groups.items()):
            rows.append({"fifth": k + 1, "group": group, "passes": len(losses),
                         "median_loss": statistics.median(losses), "max_loss": max(losses),
                         "spikes": sum(x > SPIKE * chance for x in losses) / len(losses)})
    return rows


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan


def trace_table(trace: dict) -> str:
    """The trace as markdown: the loss table, then the mean one-shot score per group."""
    d = trace["decision"]
    lines = [f"| fifth of training | {d} | passes | median loss | largest loss | spikes |",
             "|---:|---|---:|---:|---:|---:|"]
    lines += [f"| {r['fifth']} | {r['group']} | {r['passes']} | {r['median_loss']:.3f} | "
              f"{r['max_loss']:.1f} | {r['spikes']:.0%} |" for r in trace["fifths"]]
    lines += ["", f"| {d} | sampled candidates | mean one-shot val acc |", "|---|---:|---:|"]
    lines += [f"| {k} | {v['archs']} | {v['mean_oneshot_acc']:.3f} |"
              for k, v in trace["scores"].items()]
    return "\n".join(lines)


def trace_markdown(trace: dict) -> str:
    """The whole oneshot_trace.md page of ``trace`` (a run's saved JSON)."""
    widths = f" --widths {' '.join(map(str, trace['widths']))}" if trace.get("widths") else ""
    rest = {k: v for k, v in trace["options"].items() if k != "lr"}  # SuperNet's own
    options = f" --supernet-options '{json.dumps(rest)}'" if rest else ""
    if trace["options"].get("lr") is not None:
        options += f" --supernet-lr {trace['options']['lr']:g}"
    return (f"# One-shot: what the supernet learns, by {trace['decision']}\n\n"
            f"- {trace['space']} on mnist1d (widths {trace.get('widths') or 'default'}): one "
            f"supernet ({trace['rule']}, {trace['sampling']}, {trace['supernet_steps']} "
            f"candidate passes, options {trace['options'] or 'none'}, seed {trace['seed']}; "
            f"{trace['train_s']:.0f} s on {trace['device']}, {trace['threads']} thread(s) of "
            f"{trace['cores']} cores, load {trace['load_at_start']:.1f} at start, "
            f"{trace['date']}); each candidate pass's training loss grouped by the "
            f"candidate's {trace['decision']} (chance: {trace['chance_loss']:.3f}; a spike: "
            f"a loss over {SPIKE:g} times that), then {trace['archs']} sampled candidates "
            f"scored with inherited weights.\n"
            f"- Command: `python bench/oneshot.py --space {trace['space']} --trace "
            f"{trace['decision']} --supernet-steps {trace['supernet_steps']} --rules "
            f"{trace['rule']} --samplings {trace['sampling']} --archs {trace['archs']}"
            f"{widths}{options}`\n\n{trace_table(trace)}\n")


__all__ = ["run_trace", "trace_markdown", "trace_table"]
