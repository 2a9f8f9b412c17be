"""One-shot ranking: does a weight-sharing supernet rank architectures as training does?

Samples ``--archs`` architectures of each ``--space`` on MNIST-1D (seeded), trains each
stand-alone for ``--standalone-steps`` (its validation accuracy is the truth), then for
each sharing rule (``--rules``) and path sampling (``--samplings``) trains one supernet
(``nas.SuperNet``, ``task.train_supernet``) and scores every architecture with its
inherited weights (``task.score_inherited``: batch norm recalibrated on
``--calib-batches`` training batches, validation accuracy). It reports the Kendall tau
(tau-b) between the one-shot and the stand-alone accuracies, the stand-alone accuracy
of the one-shot favourite against the best one, the mean share of each candidate's
weights the store held (coverage), the store's size and the time each phase took.

Every supernet sees the same number of candidate passes: ``--supernet-steps`` steps of
one path (uniform), and as many paths spread over fewer steps for fair (m paths a
step) and sandwich (4 a step) sampling.

    python bench/oneshot.py                               # cnn and sequence, 50 archs
    python bench/oneshot.py --space cnn --archs 20 --standalone-steps 200 \\
        --supernet-steps 1000 --widths 16 32 64 --out /tmp/oneshot
    python bench/oneshot.py --space cnn --samplings fair --finetune 0 50 \\
        --norms shared per_width --truth-cache truth.json --supernet-cache supernets
    python bench/oneshot.py --space cnn --split blocks     # few-shot: a supernet a depth
    python bench/oneshot.py --cost --seeds 2               # one-shot vs default search
    python bench/oneshot.py --space cnn --trace batch_norm # the loss of each part of a space

Scores by validation accuracy and, beside it, by validation loss (finer on a small
split); ``--finetune N`` also scores each candidate after N training steps from its
inherited weights (their cost: N / ``--standalone-steps`` of a stand-alone training).

Writes ``bench/results/oneshot.json`` and ``.md`` (``--out`` picks the folder).

Measured: bench/results/oneshot.md (the table, machine and date) and docs/one-shot.md
(what it means).
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import torch
from scipy.stats import kendalltau

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import nas  # noqa: E402
from bench._json_cache import JsonCache  # noqa: E402
from bench._oneshot_cost import CLOCKS, SIDES, cost_table, merge_cost, run_cost  # noqa: E402
from bench._oneshot_trace import run_trace, trace_markdown, trace_table  # noqa: E402
from evaluators import (  # noqa: E402
    MNIST1D,
    SUPERNET_LR_SCALE,
    TrainConfig,
    resolve_device,
)

RESULTS = Path(__file__).resolve().parent / "results"
PATHS_PER_STEP = {"uniform": 1, "sandwich": 4}  # fair: the supernet's m (its widest domain)


def tau(a: list[float], b: list[float]) -> float:
    """Kendall's tau-b over the pairs where both values are finite (NaN under 3 pairs)."""
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if math.isfinite(x) and math.isfinite(y)]
    if len(pairs) < 3:
        return math.nan
    value = kendalltau(*zip(*pairs)).statistic
    return float(value) if math.isfinite(value) else math.nan


def paths_per_step(supernet: nas.SuperNet, sampling: str) -> int:
    if sampling == "fair":
        return len(next(supernet.paths("fair", seed=0)))
    return PATHS_PER_STEP[sampling]


def standalone(task, graphs, steps: int, seed: int, device: str,
               cache: Path | None = None) -> list[dict]:
    """Each graph trained stand-alone ``steps`` steps: its validation accuracy (the
    truth) and training time. With ``cache`` (a JSON file), rows already there for the
    same decisions, steps and seed are reused and new ones are added to it."""
    known = JsonCache(cache, keep_failures=True)
    rows = []
    for i, graph in enumerate(graphs):
        key = json.dumps([graph.meta["decisions"], steps, seed], sort_keys=True, default=str)
        t0 = time.perf_counter()
        row, cached = known.get_or_compute(key, lambda g=graph, i=i: train_row(
            task, g, i, steps, seed, device))
        rows.append({**row, "arch": i})
        if not cached:
            print(f"  stand-alone {i:3d}: val_acc {row['val_acc']:.3f} "
                  f"({time.perf_counter() - t0:.1f} s)", flush=True)
    return rows


def train_row(task, graph, i: int, steps: int, seed: int, device: str) -> dict:
    """One stand-alone training's row: validation accuracy, error, times, steps."""
    t0 = time.perf_counter()
    r = task.evaluate(graph, budget=f"{steps}steps", seed=seed, device=device)
    return {"arch": i, "decisions": graph.meta["decisions"], "val_acc": r.value("val_acc"),
            "error": r.error, "time_s": time.perf_counter() - t0,
            "train_time_s": r.metrics.get("train_time_s", math.nan),
            "steps": r.metrics.get("steps", math.nan)}


def step_seconds(rows: list[dict]) -> float:
    """Seconds per stand-alone training step over ``rows`` (time in the training loop
    over steps trained; NaN for rows without them)."""
    steps = sum(r.get("steps", math.nan) for r in rows)
    return sum(r.get("train_time_s", math.nan) for r in rows) / steps if steps else math.nan


def one_shot(task, space, graphs, truth: list[float], rule: str, sampling: str, steps: int,
             probe: int, calib: int, seed: int, device: str,
             standalone_step_s: float = math.nan, norms: str = "shared",
             finetunes: tuple[int, ...] = (0,), split: str | None = None,
             cache: Path | None = None, node_ids: str = "node",
             extra: dict | None = None, score_task=None,
             split_inherit: int = 0, lr: float | None = None) -> list[dict]:
    """One supernet trained ``steps`` candidate passes and every graph scored on it,
    once per fine-tune length in ``finetunes`` (0: inherited weights as they are); a
    row each. ``split``: few-shot, one supernet per option of that decision, the
    passes shared out among them. ``step_ratio``: seconds per candidate pass over
    ``standalone_step_s`` (a stand-alone step of the same architectures). ``cache``: a
    folder of trained supernets to reuse (``train_or_load``). ``score_task``: the task
    that scores (fine-tunes) the candidates, when its recipe differs (default ``task``).
    ``split_inherit`` (with ``split``): first train one supernet of the whole space that
    many passes, start every part from it (``FewShot.inherit``), and share out the
    rest of the passes among the parts. ``lr``: the supernet's peak learning rate
    (``one_shot.lr``; None: the task's ``train_supernet`` default, ``SUPERNET_LR_SCALE``
    times its own)."""
    t0 = time.perf_counter()
    options = {"rule": rule, "probe": probe, "seed": seed, "norms": norms, "node_ids": node_ids,
               **(extra or {})}
    inherited = None
    if split:
        few = nas.supernet.FewShot(space, split, **options)
        parts, pick = list(few.parts), few.supernet_for
        if split_inherit:
            parent = nas.SuperNet(space, **options)
            name = cache_name(space.name, rule, sampling, norms, None, split_inherit, probe,
                              seed, 0, node_ids, with_lr(extra, lr))
            inherited = train_or_load(task, parent, split_inherit, sampling, seed, device,
                                      cache and cache / name, lr)
            few.inherit(parent)
    else:
        parts = [nas.SuperNet(space, **options)]
        pick = lambda graph: parts[0]  # noqa: E731
    per_step = paths_per_step(parts[0], sampling)
    t1 = time.perf_counter()
    paths = train_s = wall_s = 0.0
    if inherited is not None:
        paths, train_s = inherited["trained_paths"], inherited.get("train_time_s", math.nan)
        wall_s = inherited["wall_s"]
    losses: list[float] = []
    rest = steps - (split_inherit if inherited is not None else 0)
    for j, part in enumerate(parts):  # passes (ceil(steps / m) steps of m paths), shared out
        name = cache_name(space.name, rule, sampling, norms, split, steps, probe, seed, j,
                          node_ids, with_lr(extra, lr)) \
            + (f"-from{split_inherit}" if inherited is not None else "")
        metrics = train_or_load(task, part, math.ceil(rest / len(parts)), sampling, seed,
                                device, cache and cache / name, lr)
        paths += metrics["trained_paths"]
        train_s += metrics.get("train_time_s", math.nan)
        wall_s += metrics["wall_s"]  # as trained, also when loaded from the cache
        losses.append(metrics.get("train_loss", math.nan))  # over its last 10 steps
    common = {"rule": rule, "sampling": sampling, "norms": norms, "split": split,
              "split_inherit": split_inherit if inherited is not None else 0,
              "node_ids": node_ids, "supernet_loss": sum(losses) / len(losses),
              "options": with_lr(extra, lr),
              "store_mb": sum(p.layout.megabytes() for p in parts),
              "paths_per_step": per_step, "trained_paths": paths, "build_s": t1 - t0,
              "supernet_s": wall_s, "pass_ms": train_s / paths * 1e3,
              "step_ratio": train_s / paths / standalone_step_s}
    return [{**common, **scored(score_task or task, pick, graphs, truth, calib, ft, seed,
                                device)}
            for ft in finetunes]


def with_lr(extra: dict | None, lr: float | None) -> dict:
    """The supernet's options (``extra``) with its learning rate when one is set."""
    return {**(extra or {}), **({"lr": lr} if lr is not None else {})}


def cache_name(space: str, rule: str, sampling: str, norms: str, split: str | None,
               steps: int, probe: int, seed: int, part: int, node_ids: str,
               extra: dict | None) -> str:
    """A trained supernet's file name in ``--supernet-cache`` (its settings)."""
    return f"{space}-{rule}-{sampling}-{norms}-{split}-{steps}-{probe}-{seed}-{part}" \
        f"-{node_ids}" + "".join(f"-{k}={v}" for k, v in sorted((extra or {}).items()))


def train_or_load(task, supernet, passes: int, sampling: str, seed: int, device: str,
                  path: Path | None, lr: float | None = None) -> dict:
    """Train ``supernet`` ``passes`` candidate passes and return the run's metrics; with
    ``path``, a supernet trained before with the same settings is loaded from
    ``path``.pt (its metrics, training time included, from ``path``.json) instead."""
    # ``path``.pt, not with_suffix: a name holding "lr=0.003" has no suffix to replace
    pt, js = (None, None) if path is None else (path.parent / f"{path.name}.pt",
                                                path.parent / f"{path.name}.json")
    if pt is not None and pt.exists():
        supernet.load_state_dict(torch.load(pt))
        metrics = json.loads(js.read_text())
        return {"wall_s": metrics["train_time_s"], **metrics}  # (wall_s: saved since)
    t0 = time.perf_counter()
    trained = task.train_supernet(supernet, f"{passes}steps", sampling=sampling, seed=seed,
                                  device=device, lr=lr)
    if not trained.ok:
        raise RuntimeError(f"{sampling}: supernet training failed: {trained.error}")
    metrics = {**trained.metrics, "wall_s": time.perf_counter() - t0}
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(supernet.state_dict(), pt)
        js.write_text(json.dumps(metrics, default=str))
    return metrics


def scored(task, pick, graphs, truth: list[float], calib: int, finetune: int, seed: int,
           device: str) -> dict:
    """Every graph scored on its supernet ``pick(graph)`` (fine-tuned ``finetune`` steps
    first): Kendall
    tau of its validation accuracy and of its validation loss (negated: lower is
    better) against the stand-alone accuracies ``truth``."""
    t0 = time.perf_counter()
    results = [task.score_inherited(pick(g), g, seed=seed, device=device, calib_batches=calib,
                                    finetune_steps=finetune) for g in graphs]
    scores = [r.value("val_acc") for r in results]
    losses = [-r.metrics.get("val_loss", math.nan) if r.ok else math.nan for r in results]
    finite = [i for i, s in enumerate(scores) if math.isfinite(s) and math.isfinite(truth[i])]
    favourite = max(finite, key=lambda i: scores[i]) if finite else None
    return {"finetune_steps": finetune, "kendall_tau": tau(scores, truth),
            "kendall_tau_loss": tau(losses, truth),
            "favourite_standalone_acc": truth[favourite] if favourite is not None else math.nan,
            "best_standalone_acc": max((truth[i] for i in finite), default=math.nan),
            "mean_oneshot_acc": sum(scores[i] for i in finite) / max(1, len(finite)),
            "coverage": sum(r.metrics.get("coverage", math.nan) for r in results) / len(results),
            "scoring_s": time.perf_counter() - t0, "scores": scores, "losses": losses}


def run_space(name: str, args, device: str) -> dict:
    task = MNIST1D(config=TrainConfig(latency_runs=1))
    cfg = {"widths": tuple(args.widths)} if args.widths and name == "cnn" else {}
    score_task = None
    if args.finetune_lr is not None:  # the fine-tune's peak lr, not the supernet's
        score_task = MNIST1D(config=TrainConfig(latency_runs=1, lr=args.finetune_lr))
    space = nas.get_space(name, in_shape=task.in_shape, n_out=task.n_out, **cfg)
    graphs = [space.build(space.sample_valid(args.seed * 100_003 + i))
              for i in range(args.archs)]
    print(f"{name}: {len(graphs)} architectures, stand-alone {args.standalone_steps} steps",
          flush=True)
    truth_rows = standalone(task, graphs, args.standalone_steps, args.seed, device,
                            args.truth_cache)
    truth = [r["val_acc"] for r in truth_rows]
    noise = noise_floor(task, graphs[:args.noise_archs], truth, args, device)
    rows = []
    for rule, sampling, norms, ids in itertools.product(args.rules, args.samplings, args.norms,
                                                        args.node_ids):
        for row in one_shot(task, space, graphs, truth, rule, sampling, args.supernet_steps,
                            args.probe, args.calib_batches, args.seed, device,
                            step_seconds(truth_rows), norms, tuple(args.finetune),
                            args.split, args.supernet_cache, ids, args.supernet_options,
                            score_task, args.split_inherit, args.supernet_lr):
            if args.finetune_lr is not None:
                row["options"] = {**row["options"], "finetune_lr": args.finetune_lr}
            rows.append({"space": name, **row})
            print(f"  {rule}/{sampling}/{norms}/ft {row['finetune_steps']}: tau "
                  f"{row['kendall_tau']:.3f} (loss {row['kendall_tau_loss']:.3f}), coverage "
                  f"{row['coverage']:.2f}, supernet {row['supernet_s']:.0f} s", flush=True)
    return {"space": name, "standalone": truth_rows, "oneshot": rows, "noise": noise}


def noise_floor(task, graphs, truth: list[float], args, device: str) -> dict | None:
    """The ceiling of any ranking: ``graphs`` trained stand-alone again with another
    seed, and the Kendall tau between the two seeds' accuracies (None for no graphs)."""
    if len(graphs) < 3:
        return None
    again = standalone(task, graphs, args.standalone_steps, args.seed + 1, device,
                       args.truth_cache)
    return {"archs": len(graphs), "kendall_tau": tau(truth[:len(graphs)],
                                                     [r["val_acc"] for r in again])}


def table(spaces: list[dict]) -> str:
    lines = ["| space | rule | sampling | norms | passes | calib | fine-tune | Kendall tau "
             "(acc) | tau (loss) | mean one-shot acc | supernet loss | favourite's "
             "stand-alone acc (best) | coverage | store MB | supernet s | scoring s | "
             "pass / stand-alone step |",
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
             "---:|"]
    for s in spaces:
        for r in s["oneshot"]:
            rule = r["rule"] + (f" (few-shot on {r['split']}" + (
                f", from a {r['split_inherit']}-pass supernet" if r.get("split_inherit")
                else "") + ")" if r.get("split") else "") \
                + (" (scoped ids)" if r.get("node_ids") == "scoped" else "") \
                + "".join(f" ({k}={v})" for k, v in r.get("options", {}).items())
            lines.append(f"| {s['space']} | {rule} | {r['sampling']} | "
                         f"{r.get('norms', 'shared')} | {r['trained_paths']:.0f} | "
                         f"{s['meta']['calib_batches']} | {r.get('finetune_steps', 0)} | "
                         f"{r['kendall_tau']:.3f} | {r.get('kendall_tau_loss', math.nan):.3f} | "
                         f"{r.get('mean_oneshot_acc', math.nan):.3f} | "
                         f"{r.get('supernet_loss', math.nan):.2f} | "
                         f"{r['favourite_standalone_acc']:.3f} "
                         f"({r['best_standalone_acc']:.3f}) | {r['coverage']:.2f} | "
                         f"{r['store_mb']:.1f} | {r['supernet_s']:.0f} | "
                         f"{r['scoring_s']:.0f} | {r.get('step_ratio', math.nan):.2f} |")
    return "\n".join(lines)


def variant(r: dict) -> str:
    """A row's setting in words: rule / sampling, per-width norms, fine-tune steps."""
    extra = [f"{r['norms']} norms"] if r.get("norms", "shared") != "shared" else []
    extra += [f"few-shot on {r['split']}" + (f" from {r['split_inherit']} passes"
                                              if r.get("split_inherit") else "")] \
        if r.get("split") else []
    extra += ["scoped ids"] if r.get("node_ids") == "scoped" else []
    extra += [f"{k}={v}" for k, v in r.get("options", {}).items()]
    extra += [f"{r['finetune_steps']}-step fine-tune"] if r.get("finetune_steps") else []
    return " / ".join([f"`{r['rule']}`", f"`{r['sampling']}`", *extra])


def best_rule(spaces: list[dict]) -> dict:
    """The setting (``variant``) with the highest mean tau over the spaces run, among
    those run on every space (``per_space``: each space's best)."""
    by: dict[str, list[float]] = {}
    for s in spaces:
        for r in s["oneshot"]:
            by.setdefault(variant(r), []).append(r["kendall_tau"])
    everywhere = {k: v for k, v in by.items() if len(v) == len(spaces)} or by
    name, taus = max(everywhere.items(), key=lambda kv: sum(kv[1]) / len(kv[1]))
    per_space = {}
    for s in spaces:
        top = max(s["oneshot"], key=lambda r: r["kendall_tau"])
        if per_space.get(s["space"], {}).get("kendall_tau", -math.inf) >= top["kendall_tau"]:
            continue  # a better run of the same space (runs merged)
        per_space[s["space"]] = {"variant": variant(top), "kendall_tau": top["kendall_tau"]}
    return {"variant": name, "mean_tau": sum(taus) / len(taus), "per_space": per_space}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", nargs="+", default=["cnn", "sequence"],
                    help="spaces to rank (default: cnn and the multi-family sequence)")
    ap.add_argument("--archs", type=int, default=50, help="architectures sampled per space")
    ap.add_argument("--standalone-steps", type=int, default=1000,
                    help="training steps of each stand-alone architecture (the truth)")
    ap.add_argument("--supernet-steps", type=int, default=4000,
                    help="supernet training steps of one path (uniform); fair and sandwich "
                         "train as many paths in fewer steps")
    ap.add_argument("--rules", nargs="+", default=list(nas.SHARING_RULES))
    ap.add_argument("--samplings", nargs="+", default=["uniform"],
                    choices=list(nas.SAMPLINGS))
    ap.add_argument("--norms", nargs="+", default=["shared"],
                    choices=list(nas.supernet.NORM_SHARING),
                    help="a norm's affine weights: shared as the rule says, or per_width")
    ap.add_argument("--node-ids", nargs="+", default=["node"],
                    choices=list(nas.supernet.NODE_IDS),
                    help="what names a node for sharing: its id, or its scope in the space")
    ap.add_argument("--supernet-options", type=json.loads, default={},
                    help='more SuperNet arguments as JSON, e.g. \'{"rescale": true}\'')
    ap.add_argument("--finetune", type=int, nargs="+", default=[0],
                    help="training steps of each inherited copy before its score (each "
                         "length scores every supernet again; 0: as inherited)")
    ap.add_argument("--supernet-lr", type=float, default=None,
                    help="the supernet's peak learning rate (one_shot.lr; default: what "
                         "one_shot.lr's default gives, SUPERNET_LR_SCALE times the task's; "
                         "recorded as a number in every row)")
    ap.add_argument("--finetune-lr", type=float, default=None,
                    help="the fine-tune's peak learning rate (default: the task's, as the "
                         "stand-alone training)")
    ap.add_argument("--split", default=None,
                    help="few-shot: one supernet per option of this decision (e.g. "
                         "batch_norm), the passes shared out among them")
    ap.add_argument("--split-inherit", type=int, default=0,
                    help="with --split: first train one supernet of the whole space this "
                         "many passes and start every part from it (Zhao et al.), the rest "
                         "of --supernet-steps shared out among the parts")
    ap.add_argument("--probe", type=int, default=200, help="candidates the store is built from")
    ap.add_argument("--calib-batches", type=int, default=20,
                    help="training batches recalibrating batch norm before each score")
    ap.add_argument("--widths", type=int, nargs="+", default=None,
                    help="channel widths of the cnn space (default: its 16..128)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (1: steadier on a shared machine)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--noise-archs", type=int, default=0,
                    help="train this many of the architectures again with seed + 1: the "
                         "tau between the two seeds is the ceiling of any ranking")
    ap.add_argument("--truth-cache", type=Path, default=None,
                    help="JSON file of stand-alone results to reuse and extend (runs of "
                         "other rules or supernet settings skip the stand-alone training)")
    ap.add_argument("--cost", action="store_true",
                    help="instead: per seed, the default search then a one-shot search of "
                         "the first --space, their wall-clock ratio and winners' test "
                         "accuracy after nas train (writes oneshot_cost.{md,json})")
    ap.add_argument("--seeds", type=int, default=1, help="--cost: seeds from --seed on")
    ap.add_argument("--cost-trials", type=int, default=None,
                    help="--cost: the default search's trials (default: its 20)")
    ap.add_argument("--cost-budget", default=None,
                    help="--cost: each trial's budget, both searches (default: the search's)")
    ap.add_argument("--cost-one-shot", type=json.loads, default={},
                    help="--cost: OneShot settings as JSON (default: the defaults)")
    ap.add_argument("--retrain", default="4000steps",
                    help="--cost: each winner trained from scratch this long (as nas train)")
    ap.add_argument("--clock", choices=CLOCKS, default="cpu",
                    help="--cost: compare the searches' process CPU time (steady on a "
                         "shared machine; one torch thread) or their wall clock")
    ap.add_argument("--cost-side", choices=SIDES, default="both",
                    help="--cost: run both searches per seed, or only the default or the "
                         "one-shot one (join the two runs with --cost-merge)")
    ap.add_argument("--cost-merge", type=Path, nargs="+", default=None,
                    help="--cost: write one cost table from these runs' oneshot_cost.json "
                         "files (seeds run apart), run nothing")
    ap.add_argument("--trace", default=None, metavar="DECISION",
                    help="instead: train one supernet recording each candidate pass's loss, "
                         "grouped by its value of DECISION, and score --archs candidates "
                         "(writes oneshot_trace.{md,json}; bench/_oneshot_trace.py)")
    ap.add_argument("--supernet-cache", type=Path, default=None,
                    help="folder of trained supernets to reuse and extend (a run of more "
                         "architectures or fine-tune lengths skips the training)")
    ap.add_argument("--merge", type=Path, nargs="+", default=None,
                    help="write one table from these runs' oneshot.json files, run nothing")
    args = ap.parse_args(argv)
    if args.supernet_lr is None:  # rows name the rate (rows before session 15: the task's)
        args.supernet_lr = TrainConfig().lr * SUPERNET_LR_SCALE
    if args.merge:
        return merge(args.merge, args.out)
    if args.cost_merge:
        return write_cost(args, merge_cost(args.cost_merge))
    torch.set_num_threads(args.threads)
    if args.cost:
        return write_cost(args)
    device = resolve_device(args.device)
    if args.trace:
        return write_trace(args, str(device))
    t0 = time.perf_counter()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    spaces = [run_space(name, args, str(device)) for name in args.space]
    meta = {"task": "mnist1d", "archs": args.archs, "standalone_steps": args.standalone_steps,
            "supernet_steps": args.supernet_steps, "probe": args.probe,
            "calib_batches": args.calib_batches, "widths": args.widths, "seed": args.seed,
            "device": str(device),
            "card": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
            "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "threads": torch.get_num_threads(), "load_at_start": load,
            "torch": torch.__version__, "wall_s": time.perf_counter() - t0,
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
    for s in spaces:
        s["meta"] = meta
    return write(spaces, args.out)


def describe(meta: dict, spaces: str) -> str:
    return (f"- {spaces}: {meta['archs']} architectures on mnist1d, each trained stand-alone "
            f"{meta['standalone_steps']} steps; supernets trained {meta['supernet_steps']} "
            f"candidate passes, probe {meta['probe']}, BN recalibrated on "
            f"{meta['calib_batches']} batches, cnn widths {meta['widths'] or 'default'} "
            f"(seed {meta['seed']}, {meta['device']}, {meta['threads']} thread(s) of "
            f"{meta['cores']} cores, load {meta['load_at_start']:.1f} at start, "
            f"{meta['wall_s'] / 60:.0f} min).")


def write(spaces: list[dict], folder: Path) -> dict:
    """Print the table and write oneshot.json and oneshot.md into ``folder``."""
    best = best_rule(spaces)
    md = table(spaces)
    print(md)
    print(f"best: {best}")
    runs: dict[str, tuple[dict, list[str]]] = {}
    for s in spaces:
        runs.setdefault(s["meta"]["date"], (s["meta"], []))[1].append(s["space"])
    notes = "\n".join(describe(meta, ", ".join(names)) for meta, names in runs.values())
    notes += "".join(dict.fromkeys(  # once per space and result (merged runs repeat it)
        f"\n- noise floor, {s['space']}: {s['noise']['archs']} of the architectures trained "
        f"again with another seed rank like the first seed with Kendall tau "
        f"{s['noise']['kendall_tau']:.3f} (the ceiling of any ranking)"
        for s in spaces if s.get("noise")))
    folder.mkdir(parents=True, exist_ok=True)
    out = {"best_rule": best, "spaces": spaces}
    (folder / "oneshot.json").write_text(json.dumps(out, indent=1, default=str) + "\n")
    (folder / "oneshot.md").write_text(
        f"# One-shot ranking: supernet scores vs stand-alone training\n\n{notes}\n\n{md}\n\n"
        f"Ranks best: {best['variant']} (mean Kendall tau {best['mean_tau']:.3f} over the "
        f"spaces run); per space: "
        + "; ".join(f"{name} {b['variant']} ({b['kendall_tau']:.3f})"
                    for name, b in best["per_space"].items()) + ".\n")
    return out


def write_trace(args, device: str) -> dict:
    """``--trace``: run it, print and write oneshot_trace.json and .md into ``args.out``."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    trace = run_trace(args, device)
    trace.update({"device": device, "threads": torch.get_num_threads(),
                  "cores": os.cpu_count(), "load_at_start": load,
                  "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")})
    print(trace_table(trace))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "oneshot_trace.json").write_text(json.dumps(trace, indent=1) + "\n")
    (args.out / "oneshot_trace.md").write_text(trace_markdown(trace))
    return trace


def write_cost(args, cost: dict | None = None) -> dict:
    """``--cost``: run it (or take ``cost``, merged runs), print and write
    oneshot_cost.json and .md into ``args.out``."""
    if cost is None:
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
        t0 = time.perf_counter()
        cost = run_cost(args)
        cost.update({"load_at_start": load, "wall_s": time.perf_counter() - t0,
                     "threads": torch.get_num_threads(), "cores": os.cpu_count(),
                     "trials": args.cost_trials, "budget": args.cost_budget,
                     "retrain": args.retrain, "command": " ".join(sys.argv[1:]),
                     "date": datetime.datetime.now(datetime.UTC).isoformat(
                         timespec="seconds")})
    md = cost_table(cost)
    print(md)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "oneshot_cost.json").write_text(json.dumps(cost, indent=1, default=str) + "\n")
    seeds = [r["seed"] for r in cost["rows"]]
    (args.out / "oneshot_cost.md").write_text(
        f"# One-shot search vs the default search: cost and quality\n\n- {cost['space']} on "
        f"mnist1d, seed(s) {', '.join(map(str, seeds))}, {cost['threads']} thread(s) of "
        f"{cost['cores']} cores, load {cost['load_at_start']:.1f} at start, "
        f"{cost['wall_s'] / 60:.0f} min; the ratio on the {cost.get('clock', 'wall')} clock; "
        f"default search trials {cost.get('trials') or 'default'}, budget "
        f"{cost.get('budget') or 'default'}; one-shot {cost['one_shot']}; winners retrained "
        f"{cost['retrain']}; {cost['date']}.\n- Command: "
        + " and ".join(f"`python bench/oneshot.py {c}`"
                       for c in cost.get("commands", [cost.get("command", "")]))
        + (", merged with `--cost-merge`" if cost.get("merged_from") else "")
        + f"\n\n{md}\n")
    return cost


def merge(files: list[Path], folder: Path) -> dict:
    """One table over the spaces of several runs (each run's settings kept)."""
    return write([s for f in files for s in json.loads(f.read_text())["spaces"]], folder)


if __name__ == "__main__":
    main()
