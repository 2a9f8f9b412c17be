"""Runner overhead and parallel speed-up.

1. With a task that only sleeps ``--sleep`` seconds per trial: trials per second and the
   share of wall time spent outside the evaluator, for 1, 2 and 4 workers on the journal
   storage (target: < 5% at 1-second trials). The share is
   1 - (evaluator seconds) / (workers x wall seconds), measured from the first trial's
   start to the last trial's end (process start-up is reported apart).
2. Real trials on mnist1d (the mlp space, ``--budget``): trials per hour with 1 and 2
   workers (target: >= 1.7x on a 2-core CPU).

    python bench/runner_overhead.py [--trials 12] [--sleep 1.0] [--budget 300steps]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(space: str, task: str, trials: int, workers: int, budget: str | None = None) -> dict:
    import nas
    from nas.study import Study, open_storage

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        nas.search(space, task, trials=trials, workers=workers, run_dir=tmp, budget=budget,
                   seed=0, keep_weights=0)
        wall = time.perf_counter() - t0
        st = Study.load(open_storage(None, tmp))
        recs = st.trials()
        starts = [r.started for r in recs]
        ends = [r.started + r.duration_s for r in recs]
        busy = max(ends) - min(starts)
        eval_s = sum(r.metrics.get("eval_s", r.metrics.get("train_time_s", 0.0)) for r in recs)
        return {"task": task, "workers": workers, "trials": len(recs), "wall_s": wall,
                "busy_s": busy, "startup_s": wall - busy, "trials_per_s": len(recs) / busy,
                "trials_per_hour": 3600 * len(recs) / wall,
                "overhead_share": 1 - eval_s / (workers * busy)}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=12)
    p.add_argument("--sleep", type=float, default=1.0)
    p.add_argument("--budget", default="300steps")
    p.add_argument("--real-trials", type=int, default=8)
    p.add_argument("--out", type=Path, default=HERE / "results")
    args = p.parse_args(argv)
    os.environ["NAS_SLEEP_S"] = str(args.sleep)
    os.environ["NAS_PLUGINS"] = "_sleep_task"
    os.environ["PYTHONPATH"] = os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
    sys.path.insert(0, str(HERE))
    import _sleep_task  # noqa: F401

    rows = []
    for w in (1, 2, 4):
        r = run("mlp", "sleep", args.trials, w)
        rows.append(r)
        print(f"sleep {args.sleep}s x {r['trials']} trials, {w} worker(s): "
              f"{r['trials_per_s']:.2f} trials/s, overhead {100 * r['overhead_share']:.1f}%, "
              f"start-up {r['startup_s']:.1f}s", flush=True)
    real = []
    for w in (1, 2):
        r = run("mlp", "mnist1d", args.real_trials, w, args.budget)
        real.append(r)
        print(f"mnist1d {args.budget} x {r['trials']} trials, {w} worker(s): "
              f"{r['trials_per_hour']:.0f} trials/hour", flush=True)
    speedup = real[1]["trials_per_hour"] / real[0]["trials_per_hour"]
    print(f"speed-up with 2 workers: {speedup:.2f}x")
    meta = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "platform": platform.platform(), "cpus": os.cpu_count(),
            "load_avg": os.getloadavg()}
    out = {"meta": meta, "sleep": rows, "mnist1d": real, "speedup_2_workers": speedup}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "runner_overhead.json").write_text(json.dumps(out, indent=2))
    lines = ["# Runner overhead (journal storage)", "",
             f"{meta['date']}, {meta['cpus']} CPUs, load {meta['load_avg'][0]:.1f}", "",
             "| task | workers | trials | trials/s | overhead | start-up s |",
             "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| sleep {args.sleep}s | {r['workers']} | {r['trials']} | "
              f"{r['trials_per_s']:.2f} | {100 * r['overhead_share']:.1f}% | "
              f"{r['startup_s']:.1f} |" for r in rows]
    lines += ["", "| task | workers | trials | trials/hour |", "|---|---:|---:|---:|"]
    lines += [f"| mnist1d {args.budget} | {r['workers']} | {r['trials']} | "
              f"{r['trials_per_hour']:.0f} |" for r in real]
    lines += ["", f"Speed-up with 2 workers: {speedup:.2f}x"]
    (args.out / "runner_overhead.md").write_text("\n".join(lines) + "\n")
    return out


if __name__ == "__main__":
    main()
