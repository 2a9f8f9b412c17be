"""bench/many_workers.py at a tiny size against a real PostgreSQL (as .ci/run starts one):
no trial lost, duplicated or left running, directly and through the gRPC proxy; the proxy
holds no more connections than one pool; the growth rows read the study they measured."""

from __future__ import annotations

import json
import os

import pytest
from bench_helpers import load_bench

from nas.storage import MAX_OVERFLOW, POOL_SIZE

URL = os.environ.get("NAS_TEST_POSTGRES_URL")
pytest.importorskip("grpc", reason="the proxy half needs grpcio (the [grpc] extra)")


@pytest.mark.skipif(not URL, reason="NAS_TEST_POSTGRES_URL not set")
@pytest.mark.slow
@pytest.mark.xdist_group("postgres")  # one server: its tests run one at a time
def test_the_soak_at_a_tiny_size(tmp_path):
    bench = load_bench("many_workers")
    result = bench.main(["--workers", "2", "--trials", "2", "--sleep", "0.1",
                         "--sizes", "10,30", "--repeats", "2", "--out", str(tmp_path)])
    soak = {r["mode"]: r for r in result["soak"]}
    assert set(soak) == {"direct", "proxy"}
    for r in soak.values():
        assert (r["complete"], r["lost"], r["duplicated"], r["running"]) == (4, 0, 0, 0), r
        assert r["failed_workers"] == 0, r["errors"]
    # through the proxy only the proxy's pool touches the database (+1: a sample may
    # still see the sampler's previous connection closing)
    assert 1 <= soak["proxy"]["peak_connections"] <= POOL_SIZE + MAX_OVERFLOW + 1
    # each size: filled to it, then 2 cycles direct (+2 trials), then 2 through the proxy
    assert [(r["size"], r["mode"], r["trials_read"]) for r in result["growth"]] == [
        (10, "direct", 12), (10, "proxy", 14), (30, "direct", 32), (30, "proxy", 34)]
    saved = json.loads((tmp_path / "many_workers.json").read_text())
    assert saved["soak"] == result["soak"]
    text = (tmp_path / "many_workers.md").read_text()
    assert "| direct | 2 | 4/4 | 0 | 0 | 0 | 0 |" in text and "| 30 |" in text
