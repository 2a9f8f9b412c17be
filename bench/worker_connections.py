"""Database connections a `nas worker` holds on PostgreSQL (issue 22, deliverable 2).

Starts ``--workers`` `nas worker` processes of a task that only sleeps, on a fresh study
of a PostgreSQL database, and samples ``pg_stat_activity`` every 50 ms for the
connections they hold: the peak, and the peak per worker. Once with nas's bounded pool
(``nas.storage.POOL_SIZE`` + ``MAX_OVERFLOW``), once with SQLAlchemy's default pool (5
kept + 10 overflow) for comparison. The registration refresh and trial heartbeat write
every second here (``stale_after_s`` 4), more often than a real search, so that their
writes meet the main loop's as often as they can.

    NAS_TEST_POSTGRES_URL=postgresql://nas:nas@127.0.0.1:5432/nas_test \\
        python bench/worker_connections.py [--workers 4] [--trials 6] [--sleep 0.3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
from bench._postgres import Sampler, add_url, prepare, sleep_env  # noqa: E402

LAUNCH = ("import sys, nas.storage as s\n"
          "if sys.argv[1] == 'default':\n"
          "    s.engine_kwargs = lambda url: {}\n"
          "from cli.main import main\n"
          "sys.argv = ['nas', *sys.argv[2:]]\n"
          "main()\n")


def measure(url: str, pool: str, workers: int, trials: int, sleep_s: float) -> dict:
    """Peak connections while ``workers`` processes each finish ``trials`` trials."""
    from nas.config import SearchConfig
    from nas.worker import open_study

    name = f"conn-{uuid.uuid4().hex[:8]}"
    open_study(SearchConfig(space="mlp", task="sleep", trials=workers * trials,
                            stale_after_s=4.0), url, name, objectives=[("val_acc", "max")])
    sampler = Sampler(url, every=0.05)  # from here: this process's own pool, kept open
    procs = [subprocess.Popen([sys.executable, "-c", LAUNCH, pool, "worker", "--storage", url,
                               "--study", name, "--trials", str(trials), "--index", str(i),
                               "--device", "cpu"], env=sleep_env(sleep_s),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for i in range(workers)]
    with sampler:
        for p in procs:
            _, err = p.communicate(timeout=600)
            assert p.returncode == 0, err[-2000:]
    samples = sampler.samples
    peak = max(samples, default=0)
    return {"pool": pool, "workers": workers, "trials": workers * trials,
            "samples": len(samples), "peak": peak, "peak_per_worker": peak / workers,
            "busy_samples": sum(x > 0 for x in samples)}


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_url(ap)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--trials", type=int, default=6, help="trials per worker")
    ap.add_argument("--sleep", type=float, default=0.3, help="seconds per trial")
    ap.add_argument("--out", type=Path, default=HERE / "results")
    args = ap.parse_args(argv)
    prepare(ap, args)

    from nas.storage import MAX_OVERFLOW, POOL_SIZE

    rows = [measure(args.url, pool, args.workers, args.trials, args.sleep)
            for pool in ("nas", "default")]
    lines = ["| pool | workers | trials | peak connections | peak per worker |",
             "|---|---|---|---|---|"]
    for r in rows:
        name = f"nas ({POOL_SIZE} + {MAX_OVERFLOW})" if r["pool"] == "nas" else \
            "SQLAlchemy default (5 + 10)"
        lines.append(f"| {name} | {r['workers']} | {r['trials']} | {r['peak']} | "
                     f"{r['peak_per_worker']:.2f} |")
    table = "\n".join(lines)
    print(table)
    meta = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": platform.platform(), "cpus": os.cpu_count(),
            "load": os.getloadavg(), "args": {k: str(v) for k, v in vars(args).items()
                                              if k != "url"}}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "worker_connections.json").write_text(json.dumps({**meta, "rows": rows},
                                                                 indent=2))
    (args.out / "worker_connections.md").write_text(
        f"# Database connections per worker (PostgreSQL)\n\n{table}\n\n"
        f"{meta['when']}, {meta['cpus']} CPUs, load {meta['load'][0]:.1f}; "
        f"python bench/worker_connections.py {' '.join(argv or sys.argv[1:])}\n")
    return rows


if __name__ == "__main__":
    main()
