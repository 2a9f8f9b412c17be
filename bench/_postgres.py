"""What the PostgreSQL benches share: the `--url` of the database, the environment of
worker processes that run the sleep task, and a sampler of the database's connections."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def add_url(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--url", default=os.environ.get("NAS_TEST_POSTGRES_URL"))


def prepare(ap: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit with a usage error without a database URL; register the sleep task here too
    (this process creates the studies)."""
    if not args.url:
        ap.error("give --url postgresql://... or set NAS_TEST_POSTGRES_URL")
    sys.path[:0] = [str(HERE), str(ROOT)]
    import _sleep_task

    _sleep_task.register()


def sleep_env(sleep_s: float) -> dict:
    """The environment of a worker process whose trials sleep ``sleep_s`` seconds."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), str(ROOT),
                                                        os.environ.get("PYTHONPATH", "")]),
                NAS_PLUGINS="_sleep_task", NAS_SLEEP_S=str(sleep_s), COLUMNS="200")


def count(url: str) -> int:
    """Connections to this database other than the sampler's own."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                            "current_database() AND pid <> pg_backend_pid()").fetchone()[0]


class Sampler:
    """Connections to the database beyond those open at the start (``base``), sampled
    every ``every`` seconds while in a with: ``samples``."""

    def __init__(self, url: str, every: float = 0.1):
        self.url, self.every = url, every
        self.base = count(url)
        self.samples: list[int] = []
        self.done = threading.Event()

    def __enter__(self) -> Sampler:
        def run() -> None:
            while not self.done.wait(self.every):
                self.samples.append(count(self.url) - self.base)
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join()
