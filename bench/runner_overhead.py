"""Runner overhead and parallel speed-up (journal storage).

1. A task that only sleeps ``--sleep`` seconds per trial, with 1, 2 and 4 workers:
   trials per second, and the share of each worker's busy time spent outside the
   evaluator (target: < 5% at 1-second trials). A worker's busy time runs from the start
   of its first trial to the end of its last; process start-up is reported apart.
2. The same task with no sleep (random strategy) in an empty study and in one that
   already holds ``--big`` finished trials: the runner's own cost per trial (ask,
   record, read the study), which must not grow much with the study.
3. Real trials on mnist1d (the mlp space, ``--budget``): trials per hour with 1 and 2
   workers (target: >= 1.7x on a 2-core CPU), with and without process start-up.

    python bench/runner_overhead.py [--trials 12] [--sleep 1.0] [--big 2000]
        [--real-trials 8] [--budget 300steps]
    python bench/runner_overhead.py --quick   # a smoke run (seconds), not a measurement
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


def run(task: str, trials: int, workers: int, budget: str | None = None,
        prefill: int = 0, strategy: str = "evolution") -> dict:
    """One search in a fresh run folder; timings read back from the stored trials."""
    import nas
    from nas import Study, open_storage

    with tempfile.TemporaryDirectory() as tmp:
        if prefill:
            _prefill(tmp, task, prefill)
        t0 = time.perf_counter()
        nas.search("mlp", task, strategy=strategy, trials=trials + prefill, workers=workers,
                   run_dir=tmp, budget=budget, seed=0, keep_weights=0)
        wall = time.perf_counter() - t0
        recs = Study.load(open_storage(None, tmp)).trials()[prefill:]
    assert len(recs) == trials and all(r.state == "COMPLETE" for r in recs), \
        [(r.state, r.error) for r in recs]
    by_worker: dict[int, list] = {}
    for r in recs:
        by_worker.setdefault(r.attrs["worker"]["pid"], []).append(r)
    busy = sum(max(r.started + r.duration_s for r in rs) - min(r.started for r in rs)
               for rs in by_worker.values())
    span = max(r.started + r.duration_s for r in recs) - min(r.started for r in recs)
    eval_s = sum(r.metrics.get("eval_s", r.metrics.get("train_time_s", 0.0)) for r in recs)
    return {"task": task, "workers": workers, "trials": trials, "prefill": prefill,
            "wall_s": wall, "span_s": span, "startup_s": wall - span,
            "trials_per_s": trials / span, "trials_per_hour": 3600 * trials / span,
            "trials_per_hour_with_startup": 3600 * trials / wall,
            "overhead_share": 1 - eval_s / busy,
            "overhead_ms_per_trial": 1000 * (busy - eval_s) / trials}


def _prefill(run_dir: str, task: str, n: int) -> None:
    """A study holding ``n`` finished trials, one storage write each."""
    from optuna.trial import FrozenTrial, TrialState

    import nas
    from nas.config import SearchConfig
    from nas.study import distribution
    from nas.worker import open_study

    t = nas.get_task(task)
    space = nas.get_space("mlp", in_shape=t.in_shape, n_out=t.n_out)
    objectives = [t.objective]
    config = SearchConfig(space="mlp", task=task, strategy="random", trials=n,
                          objectives=[list(o) for o in objectives], keep_weights=0)
    st = open_study(config, None, None, run_dir, objectives)
    sid = st.storage.get_study_id_from_name(st.name)
    for i in range(n):
        graph, decisions = space.resolve(space.sample(i))
        dists = {k: distribution(space.domains[k]) for k in decisions}
        now = datetime.now()
        st.storage.create_new_trial(sid, template_trial=FrozenTrial(
            number=-1, state=TrialState.COMPLETE, value=(i % 997) / 997, values=None,
            datetime_start=now, datetime_complete=now, params=decisions,
            distributions=dists, user_attrs={
                "decisions": decisions, "graph": graph.to_json(),
                "fingerprint": graph.fingerprint(), "metrics": {"eval_s": 0.0}},
            system_attrs={}, intermediate_values={}, trial_id=-1))


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=12, help="sleep trials per worker count")
    p.add_argument("--sleep", type=float, default=1.0, help="seconds per sleep trial")
    p.add_argument("--workers", default="1,2,4", help="worker counts for the sleep task")
    p.add_argument("--big", type=int, default=2000, help="finished trials in the large "
                   "study (0: skip)")
    p.add_argument("--big-trials", type=int, default=20)
    p.add_argument("--budget", default="300steps")
    p.add_argument("--real-trials", type=int, default=8, help="mnist1d trials (0: skip)")
    p.add_argument("--quick", action="store_true", help="tiny settings: checks it runs")
    p.add_argument("--out", type=Path, default=HERE / "results")
    args = p.parse_args(argv)
    if args.quick:
        args.trials, args.sleep, args.big, args.big_trials = 4, 0.2, 50, 4
        args.real_trials, args.budget = 2, "20steps"
    os.environ["NAS_SLEEP_S"] = str(args.sleep)
    os.environ["NAS_PLUGINS"] = "_sleep_task"
    os.environ["PYTHONPATH"] = os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
    sys.path.insert(0, str(HERE))
    import _sleep_task

    _sleep_task.register()  # "sleep" here too, to create the studies

    rows = []
    for w in (int(x) for x in args.workers.split(",")):
        r = run("sleep", args.trials, w)
        rows.append(r)
        print(f"sleep {args.sleep}s x {r['trials']} trials, {w} worker(s): "
              f"{r['trials_per_s']:.2f} trials/s, overhead {100 * r['overhead_share']:.1f}% "
              f"({r['overhead_ms_per_trial']:.0f} ms/trial), start-up {r['startup_s']:.1f}s",
              flush=True)
    big = []
    if args.big:
        os.environ["NAS_SLEEP_S"] = "0"
        for prefill in (0, args.big):
            r = run("sleep", args.big_trials, 1, prefill=prefill, strategy="random")
            big.append(r)
            print(f"no-op trials in a study of {prefill} trials: "
                  f"{r['overhead_ms_per_trial']:.0f} ms/trial", flush=True)
    real = []
    for w in (1, 2) if args.real_trials else ():
        r = run("mnist1d", args.real_trials, w, args.budget)
        real.append(r)
        print(f"mnist1d {args.budget} x {r['trials']} trials, {w} worker(s): "
              f"{r['trials_per_hour']:.0f} trials/hour "
              f"({r['trials_per_hour_with_startup']:.0f} with start-up)", flush=True)
    speedup = speedup_all = None
    if len(real) == 2:
        speedup = real[1]["trials_per_hour"] / real[0]["trials_per_hour"]
        speedup_all = (real[1]["trials_per_hour_with_startup"]
                       / real[0]["trials_per_hour_with_startup"])
        print(f"speed-up with 2 workers: {speedup:.2f}x ({speedup_all:.2f}x with start-up)")
    import torch

    meta = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "platform": platform.platform(), "cpus": os.cpu_count(),
            "torch_threads_1_worker": torch.get_num_threads(),
            "load_avg": os.getloadavg(), "argv": sys.argv[1:] if argv is None else argv}
    out = {"meta": meta, "sleep": rows, "big_study": big, "mnist1d": real,
           "speedup_2_workers": speedup, "speedup_2_workers_with_startup": speedup_all}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "runner_overhead.json").write_text(json.dumps(out, indent=2))
    (args.out / "runner_overhead.md").write_text(_markdown(args, meta, rows, big, real,
                                                           speedup, speedup_all))
    return out


def _markdown(args, meta, rows, big, real, speedup, speedup_all) -> str:
    lines = ["# Runner overhead (journal storage)", "",
             f"{meta['date']}, {meta['cpus']} CPUs, load {meta['load_avg'][0]:.1f} "
             f"(torch threads: {meta['torch_threads_1_worker']} with 1 worker, "
             "cpus / workers with more), "
             f"`python bench/runner_overhead.py {' '.join(meta['argv'])}`", "",
             "Overhead: the share of each worker's busy time (first trial start to last "
             "trial end) spent outside the evaluator.", "",
             "| task | workers | trials | trials/s | overhead | ms/trial | start-up s |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| sleep {args.sleep}s | {r['workers']} | {r['trials']} | "
              f"{r['trials_per_s']:.2f} | {100 * r['overhead_share']:.1f}% | "
              f"{r['overhead_ms_per_trial']:.0f} | {r['startup_s']:.1f} |" for r in rows]
    if big:
        lines += ["", "Runner cost per no-op trial against the size of the study:", "",
                  "| trials already in the study | ms/trial |", "|---:|---:|"]
        lines += [f"| {r['prefill']} | {r['overhead_ms_per_trial']:.0f} |" for r in big]
    if real:
        lines += ["", "| task | workers | trials | trials/hour | with start-up |",
                  "|---|---:|---:|---:|---:|"]
        lines += [f"| mnist1d {args.budget} | {r['workers']} | {r['trials']} | "
                  f"{r['trials_per_hour']:.0f} | {r['trials_per_hour_with_startup']:.0f} |"
                  for r in real]
    if speedup is not None:
        lines += ["", f"Speed-up with 2 workers: {speedup:.2f}x "
                      f"({speedup_all:.2f}x counting process start-up)"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
