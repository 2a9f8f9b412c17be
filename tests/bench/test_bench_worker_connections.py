"""bench/worker_connections.py against a real PostgreSQL (as .ci/run starts one): each
`nas worker` holds at most POOL_SIZE + MAX_OVERFLOW connections, with one storage (so one
pool) per database and process."""

from __future__ import annotations

import json
import os

import pytest
from bench_helpers import load_bench

from nas import open_storage
from nas.storage import MAX_OVERFLOW, POOL_SIZE

URL = os.environ.get("NAS_TEST_POSTGRES_URL")
needs_postgres = pytest.mark.skipif(not URL, reason="NAS_TEST_POSTGRES_URL not set")


@needs_postgres
@pytest.mark.xdist_group("postgres")  # one server: its tests run one at a time
def test_a_process_opens_one_pool_per_database():
    first = open_storage(URL)
    assert open_storage(URL, create=False) is first  # a reader's check: the same pool
    assert first.engine.pool.size() == POOL_SIZE


@needs_postgres
@pytest.mark.xdist_group("postgres")  # one server: its tests run one at a time
@pytest.mark.slow
def test_workers_hold_a_bounded_number_of_connections(tmp_path):
    bench = load_bench("worker_connections")
    rows = bench.main(["--workers", "2", "--trials", "2", "--sleep", "0.2",
                       "--out", str(tmp_path)])
    assert [r["pool"] for r in rows] == ["nas", "default"]
    nas_row = rows[0]
    assert nas_row["samples"] > 0 and 1 <= nas_row["peak"] <= 2 * (POOL_SIZE + MAX_OVERFLOW)
    saved = json.loads((tmp_path / "worker_connections.json").read_text())
    assert saved["rows"] == rows and "| nas (2 + 1) | 2 | 4 |" in (
        tmp_path / "worker_connections.md").read_text()
