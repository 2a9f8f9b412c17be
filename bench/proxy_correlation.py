"""Zero-cost proxies against training: Spearman rank correlation on sampled ``cnn`` nets.

Samples ``--archs`` architectures of the ``cnn`` space on MNIST-1D (seeded), scores each
untrained network with every proxy in ``evaluators.PROXIES`` (one batch of ``--batch``
training samples), trains each with the task's trainer for ``--budget``, and reports the
Spearman rank correlation of every proxy with the trained validation accuracy (ties get
average ranks; failed candidates are left out).

    python bench/proxy_correlation.py                       # 50 archs, 300 steps
    python bench/proxy_correlation.py --archs 20 --budget 100steps --device cpu

Writes ``bench/results/proxy_correlation.json`` and ``.md`` (``--out`` picks the folder).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import platform
import time
from pathlib import Path

import numpy as np
import torch

import nas
from evaluators import MNIST1D, PROXIES, resolve_device, score

RESULTS = Path(__file__).resolve().parent / "results"


def spearman(a, b) -> float:
    """Spearman's rho: the Pearson correlation of average ranks (ties share a rank)."""
    from scipy.stats import rankdata

    ra, rb = rankdata(a), rankdata(b)
    if ra.std() == 0 or rb.std() == 0:
        return math.nan
    return float(np.corrcoef(ra, rb)[0, 1])


def run(archs: int, budget: str, batch: int, seed: int, device: str,
        widths: tuple[int, ...] | None = None) -> dict:
    task = MNIST1D()
    cfg = {"widths": tuple(widths)} if widths else {}
    space = nas.get_space("cnn", in_shape=task.in_shape, n_out=task.n_out, **cfg)
    rows = []
    for i in range(archs):
        decisions = space.sample(seed * 100_003 + i)
        graph = space.build(decisions)
        t0 = time.perf_counter()
        proxies = {}
        for p in PROXIES:
            try:
                proxies[p] = score(graph, task, p, batch=batch, seed=seed, device=device)
            except Exception as exc:  # a proxy that breaks on one net must not end the run
                proxies[p] = math.nan
                print(f"  arch {i}: {p} failed: {exc}")
        t1 = time.perf_counter()
        result = task.evaluate(graph, budget=budget, seed=seed, device=device)
        rows.append({"arch": i, "decisions": decisions, "proxies": proxies,
                     "val_acc": result.value("val_acc"), "error": result.error,
                     "proxy_time_s": t1 - t0, "train_time_s": time.perf_counter() - t1})
        print(f"{i:3d} val_acc {rows[-1]['val_acc']:.3f}  "
              + "  ".join(f"{p} {v:.4g}" for p, v in proxies.items()), flush=True)
    corr = {}
    for p in PROXIES:
        pairs = [(r["proxies"][p], r["val_acc"]) for r in rows
                 if math.isfinite(r["proxies"][p]) and math.isfinite(r["val_acc"])]
        corr[p] = {"spearman": spearman(*zip(*pairs)) if len(pairs) > 2 else math.nan,
                   "n": len(pairs),
                   "proxy_time_s": float(np.mean([r["proxy_time_s"] for r in rows]))}
    return {"rows": rows, "correlation": corr}


def table(out: dict) -> str:
    lines = ["| proxy | Spearman rho vs val_acc | archs |", "|---|---:|---:|"]
    for p, c in sorted(out["correlation"].items(), key=lambda kv: -np.nan_to_num(
            kv[1]["spearman"], nan=-2)):
        lines.append(f"| {p} | {c['spearman']:.3f} | {c['n']} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archs", type=int, default=50, help="cnn architectures to sample")
    ap.add_argument("--budget", default="300steps", help="training budget per architecture")
    ap.add_argument("--batch", type=int, default=64, help="samples in the proxies' batch")
    ap.add_argument("--widths", type=int, nargs="+", default=None,
                    help="channel widths the cnn space draws from (default: the space's "
                         "16..128; narrower is faster on a CPU)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    device = resolve_device(args.device)
    t0 = time.perf_counter()
    out = run(args.archs, args.budget, args.batch, args.seed, str(device), args.widths)
    accs = [r["val_acc"] for r in out["rows"] if math.isfinite(r["val_acc"])]
    meta = {"task": "mnist1d", "space": "cnn", "archs": args.archs, "budget": args.budget,
            "batch": args.batch, "widths": args.widths, "seed": args.seed, "device": str(device),
            "card": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
            "cpu": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(), "torch": torch.__version__,
            "val_acc_range": [round(min(accs), 3), round(max(accs), 3)] if accs else None,
            "failed": sum(r["error"] is not None for r in out["rows"]),
            "wall_s": time.perf_counter() - t0,
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
    md = table(out)
    print(md)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "proxy_correlation.json").write_text(
        json.dumps({"meta": meta, **out}, indent=1, default=str) + "\n")
    (args.out / "proxy_correlation.md").write_text(
        f"# Zero-cost proxies vs trained accuracy\n\n"
        f"{args.archs} `cnn` architectures on mnist1d (widths "
        f"{args.widths or 'default'}), trained {args.budget} each "
        f"(seed {args.seed}, {meta['device']}{', ' + meta['card'] if meta['card'] else ''}); "
        f"val_acc range {meta['val_acc_range']}, {meta['failed']} failed.\n\n{md}\n")


if __name__ == "__main__":
    main()
