"""Trainer throughput against a minimal hand-written PyTorch loop (MNIST-1D, paper CNN).

All train the same compiled graph with the same batch size and optimizer (AdamW) on
the same device; rounds alternate between them and the median round counts. The
trainer does more per step (lr schedule, label smoothing, gradient clipping, the
non-finite check) and uses AdamW's fused kernel, which pays for that on CPU; the
"fused AdamW" row isolates the trainer's own overhead. "End to end" also counts
building the module, the final validation and test scoring, FLOPs and latency.

    python bench/evaluator_speed.py [--steps 300] [--rounds 9] [--device auto] [--threads 1]

One torch thread by default, as in the tests: on a small shared CPU, two intra-op
threads can run many times slower when another process takes a core.

Writes bench/results/evaluator_speed.json and .md and prints the table.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import nas
from evaluators import TrainConfig, resolve_device, train
from evaluators.device import synchronize
from nas import ArchGraph, compile_graph
from search_spaces.reference import mnist1d_paper_cnn

RESULTS = Path(__file__).parent / "results"


def paper_cnn_graph() -> ArchGraph:
    return mnist1d_paper_cnn()


def hand_written(graph: ArchGraph, task, steps: int, cfg: TrainConfig, device: torch.device,
                 fused: bool | None = None) -> float:
    """The plainest loop: permutation batches, cross-entropy, AdamW. Returns seconds."""
    torch.manual_seed(0)
    model = compile_graph(graph).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay,
                            fused=fused)
    data = task.splits_on(device)
    x, y = data.x_train, data.y_train
    n, batch = len(x), cfg.batch_size
    gen = torch.Generator().manual_seed(0)
    perm, pos = None, n
    synchronize(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        if pos + batch > n:
            perm, pos = torch.randperm(n, generator=gen).to(device), 0
        idx = perm[pos:pos + batch]
        pos += batch
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    synchronize(device)
    return time.perf_counter() - t0


def trainer(graph: ArchGraph, task, steps: int, cfg: TrainConfig,
            device: torch.device) -> tuple[float, float]:
    """(seconds in the training loop, seconds for the whole ``train`` call)."""
    t0 = time.perf_counter()
    result = train(graph, task, steps, cfg, seed=0, device=str(device))
    total = time.perf_counter() - t0
    assert result.ok, result.error
    return result.metrics["train_time_s"], total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300, help="steps per timed run")
    ap.add_argument("--rounds", type=int, default=9, help="alternating rounds (median)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch.set_num_threads; 0 keeps torch's own choice")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    task = nas.get_task("mnist1d")
    cfg = task.config
    graph = paper_cnn_graph()
    hand_written(graph, task, 20, cfg, device)  # warm-up: imports, allocator, caches
    trainer(graph, task, 20, cfg, device)

    hand_s, fused_s, loop_s, call_s = [], [], [], []
    for _ in range(args.rounds):
        hand_s.append(hand_written(graph, task, args.steps, cfg, device))
        fused_s.append(hand_written(graph, task, args.steps, cfg, device, fused=True))
        loop, call = trainer(graph, task, args.steps, cfg, device)
        loop_s.append(loop)
        call_s.append(call)
    samples = args.steps * cfg.batch_size
    rows = [("hand-written loop", statistics.median(hand_s)),
            ("hand-written loop, fused AdamW", statistics.median(fused_s)),
            ("trainer (training loop)", statistics.median(loop_s)),
            ("trainer (end to end)", statistics.median(call_s))]
    base = samples / rows[0][1]
    table = [{"run": name, "samples_per_s": samples / s, "ms_per_step": 1e3 * s / args.steps,
              "vs_hand_written": samples / s / base} for name, s in rows]
    meta = {"device": str(device), "cpu": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(), "torch": torch.__version__,
            "steps": args.steps, "rounds": args.rounds, "batch_size": cfg.batch_size,
            "model": "MNIST-1D paper CNN (5,210 params)"}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "evaluator_speed.json").write_text(
        json.dumps({"meta": meta, "rows": table, "raw_s": {
            "hand": hand_s, "hand_fused": fused_s, "loop": loop_s, "call": call_s}}, indent=2))
    md = [f"# Trainer speed: MNIST-1D, paper CNN, batch {cfg.batch_size}", "",
          f"device {meta['device']}, {meta['threads']} thread(s), torch {meta['torch']}; "
          f"{args.steps} steps x {args.rounds} alternating rounds, median.", "",
          "| run | samples/s | ms/step | vs hand-written |", "|---|---:|---:|---:|"]
    md += [f"| {r['run']} | {r['samples_per_s']:,.0f} | {r['ms_per_step']:.2f} | "
           f"{r['vs_hand_written']:.2f} |" for r in table]
    (RESULTS / "evaluator_speed.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
