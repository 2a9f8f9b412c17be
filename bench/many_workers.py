"""Many workers on one PostgreSQL, directly and through the gRPC proxy (issue 22).

Soak: ``--workers`` `nas worker` processes of a task that only sleeps (bench/_sleep_task.py)
join one fresh study, ``--trials`` trials each, once straight to PostgreSQL and once
through `nas storage serve`; then the study is read from the database: trials lost
(target minus complete), duplicated (numbers seen twice, or trials past the target) and
left running must all be 0. ``pg_stat_activity`` is sampled every 100 ms for the peak
connections.

Growth: one study filled with finished trials up to ``--sizes`` (largest 5,000); at each
size, the storage's cost of one worker's trial: its full read of the study (a worker
reads it once per trial), creating a trial and finishing it, directly and through the
proxy (median of ``--repeats``).

    NAS_TEST_POSTGRES_URL=postgresql://nas:nas@127.0.0.1:5432/nas_test \\
        python bench/many_workers.py [--workers 32] [--trials 10] [--sizes 100,1000,5000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
from bench._postgres import Sampler, add_url, prepare, sleep_env  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proxy:
    """`nas storage serve` for ``url`` in a subprocess, on a free port, while in a with."""

    def __init__(self, url: str):
        self.url, self.port = url, free_port()

    def __enter__(self) -> str:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "storage", "serve", "--storage", self.url,
             "--host", "127.0.0.1", "--port", str(self.port)], env=sleep_env(0), text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.proc.stdout.readline()  # printed once it listens
        if str(self.port) not in line:
            raise RuntimeError(f"the proxy did not start: {line}{self.proc.stderr.read()}")
        return f"grpc://127.0.0.1:{self.port}"

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


def soak(url: str, mode: str, workers: int, trials: int, sleep_s: float) -> dict:
    """``workers`` processes x ``trials`` trials on a fresh study; what the database holds."""
    import contextlib

    from nas import Study, open_storage
    from nas.config import SearchConfig
    from nas.worker import open_study

    name = f"soak-{uuid.uuid4().hex[:8]}"
    target = workers * trials
    open_study(SearchConfig(space="mlp", task="sleep", trials=target, keep_weights=0),
               url, name, objectives=[("val_acc", "max")])
    t0 = time.perf_counter()
    with Sampler(url) as sampler, (Proxy(url) if mode == "proxy" else
                                   contextlib.nullcontext(url)) as where:
        procs = [subprocess.Popen([sys.executable, "-m", "cli.main", "worker", "--storage",
                                   where, "--study", name, "--trials", str(trials), "--index",
                                   str(i), "--device", "cpu"], env=sleep_env(sleep_s), text=True,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for i in range(workers)]
        errors = [err[-300:] for p in procs
                  if (err := p.communicate(timeout=3600)[1]) and p.returncode != 0]
    wall = time.perf_counter() - t0
    recs = Study.load(open_storage(url, create=False), name).trials()
    numbers = [r.number for r in recs]
    complete = sum(r.state == "COMPLETE" for r in recs)
    return {"mode": mode, "workers": workers, "target": target, "trials": len(recs),
            "complete": complete, "lost": max(0, target - complete),
            "duplicated": len(numbers) - len(set(numbers)) + max(0, complete - target),
            "running": sum(r.state == "RUNNING" for r in recs),
            "failed_workers": len(errors), "errors": errors[:3],
            "peak_connections": max(sampler.samples, default=0), "wall_s": round(wall, 1)}


def fill(url: str, study_id: int, upto: int) -> None:
    """Finished trials (a value and a metrics attribute each) until the study holds
    ``upto``, written in bulk with SQL into optuna's tables: one by one through the
    storage would take longer than the measurement."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        have = conn.execute("SELECT count(*) FROM trials WHERE study_id = %s",
                            (study_id,)).fetchone()[0]
        if upto <= have:
            return
        conn.execute(
            "WITH new AS (INSERT INTO trials (number, study_id, state, datetime_start, "
            "datetime_complete) SELECT n, %s, 'COMPLETE', now(), now() FROM "
            "generate_series(%s::int, %s::int) n RETURNING trial_id), v AS (INSERT INTO "
            "trial_values (trial_id, objective, value, value_type) SELECT trial_id, 0, 0.5, "
            "'FINITE' FROM new) INSERT INTO trial_user_attributes (trial_id, key, value_json) "
            "SELECT trial_id, 'metrics', '{\"eval_s\": 0.1}' FROM new",
            (study_id, have, upto - 1))


def cycle_s(storage, study_id: int) -> float:
    """Seconds of one worker's storage work per trial: read the study, create a trial,
    finish it (the trial stays, so the study grows by one)."""
    from optuna.trial import TrialState

    t0 = time.perf_counter()
    storage.get_all_trials(study_id, deepcopy=False)
    tid = storage.create_new_trial(study_id)
    storage.set_trial_user_attr(tid, "metrics", {"eval_s": 0.1})
    storage.set_trial_state_values(tid, TrialState.COMPLETE, [0.5])
    return time.perf_counter() - t0


def growth(url: str, sizes: list[int], repeats: int) -> list[dict]:
    """Per-trial storage seconds at each study size, direct and through the proxy."""
    import optuna

    from nas import open_storage

    direct = open_storage(url)
    name = f"grow-{uuid.uuid4().hex[:8]}"
    study_id = direct.create_new_study([optuna.study.StudyDirection.MAXIMIZE], name)
    rows = []
    with Proxy(url) as where:
        proxied = open_storage(where)
        proxy_id = proxied.get_study_id_from_name(name)
        for size in sizes:
            fill(url, study_id, size)
            for mode, storage, sid in (("direct", direct, study_id),
                                       ("proxy", proxied, proxy_id)):
                times = [cycle_s(storage, sid) for _ in range(repeats)]
                rows.append({"size": size, "mode": mode,
                             "ms_per_trial": round(1000 * statistics.median(times), 2),
                             "trials_read": len(storage.get_all_trials(sid, deepcopy=False))})
                print(rows[-1], flush=True)
    return rows


def tables(soaks: list[dict], grows: list[dict]) -> str:
    lines = ["| storage | workers | trials | lost | duplicated | left running | "
             "failed workers | peak DB connections | wall s |", "|---" * 9 + "|"]
    for r in soaks:
        lines.append(f"| {r['mode']} | {r['workers']} | {r['complete']}/{r['target']} | "
                     f"{r['lost']} | {r['duplicated']} | {r['running']} | "
                     f"{r['failed_workers']} | {r['peak_connections']} | {r['wall_s']} |")
    sizes = sorted({r["size"] for r in grows})
    cell = {(r["size"], r["mode"]): r["ms_per_trial"] for r in grows}
    lines += ["", "Storage time per trial (ms: read the study, create and finish a trial) as "
              "the study grows:", "", "| trials in study | direct | proxy |", "|---|---|---|"]
    lines += [f"| {s:,} | {cell.get((s, 'direct'), '')} | {cell.get((s, 'proxy'), '')} |"
              for s in sizes]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_url(ap)
    ap.add_argument("--workers", type=int, default=32)
    ap.add_argument("--trials", type=int, default=10, help="trials per worker")
    ap.add_argument("--sleep", type=float, default=0.2, help="seconds per trial")
    ap.add_argument("--sizes", default="100,500,1000,2000,5000",
                    help="study sizes (trials) at which the per-trial cost is measured")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=HERE / "results")
    args = ap.parse_args(argv)
    prepare(ap, args)
    soaks = [soak(args.url, mode, args.workers, args.trials, args.sleep)
             for mode in ("direct", "proxy")]
    for r in soaks:
        print(r, flush=True)
    grows = growth(args.url, sorted(int(s) for s in args.sizes.split(",")), args.repeats)
    table = tables(soaks, grows)
    print(table)
    meta = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": platform.platform(), "cpus": os.cpu_count(),
            "load": os.getloadavg(), "args": {k: str(v) for k, v in vars(args).items()
                                              if k != "url"}}
    result = {**meta, "soak": soaks, "growth": grows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "many_workers.json").write_text(json.dumps(result, indent=2))
    (args.out / "many_workers.md").write_text(
        f"# Many workers on one PostgreSQL, directly and through the gRPC proxy\n\n{table}\n\n"
        f"{meta['when']}, {meta['cpus']} CPUs, load {meta['load'][0]:.1f}; "
        f"python bench/many_workers.py {' '.join(argv if argv is not None else sys.argv[1:])}\n")
    return result


if __name__ == "__main__":
    main()
