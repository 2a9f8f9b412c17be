"""optuna's gRPC storage proxy: `nas storage serve` in front of a SQL storage and
``--storage grpc://HOST:PORT`` on the workers (``nas._grpc``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid

import pytest
from cli_helpers import PLUGINS, nas_cli

import nas
from nas import StorageError, open_storage
from nas._grpc import ProxyError, parse_address

grpc = pytest.importorskip("grpc", reason="the gRPC proxy needs grpcio (the [grpc] extra)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(url: str, port: int) -> subprocess.Popen:
    """`nas storage serve` in the background, once it says it listens."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([PLUGINS, os.environ.get("PYTHONPATH", "")]),
               COLUMNS="200")
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "storage", "serve", "--storage",
                             url, "--host", "127.0.0.1", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # printed once the server has started
    assert f"127.0.0.1:{port}" in line, line + proc.stderr.read()
    return proc


def _search_through_proxy(url: str, tmp_path) -> None:
    """Two workers of a 6-trial search join through the proxy; the database itself then
    holds each trial once, all complete."""
    port = _free_port()
    proxy = _serve(url, port)
    name = f"g-{uuid.uuid4().hex[:8]}"
    try:
        res = nas_cli("search", "--space", "mlp", "--task", "fake", "--trials", "6",
                      "--workers", "2", "--storage", f"grpc://127.0.0.1:{port}", "--study",
                      name, "--keep-weights", "0")
        assert res.returncode == 0, res.stdout + res.stderr
    finally:
        proxy.terminate()
        proxy.wait(timeout=30)
    st = nas.Study.load(open_storage(url, create=False), name)  # read without the proxy
    assert sorted(r.number for r in st.trials()) == list(range(6))
    assert all(r.state == "COMPLETE" for r in st.trials())


@pytest.mark.slow  # a proxy and a two-worker search in subprocesses (~30 s)
def test_a_search_through_the_proxy_over_sqlite(tmp_path):
    _search_through_proxy(f"sqlite:///{tmp_path}/db.sqlite", tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("NAS_TEST_POSTGRES_URL"),
                    reason="set NAS_TEST_POSTGRES_URL to a PostgreSQL database to run this")
@pytest.mark.xdist_group("postgres")  # one server: its tests run one at a time
def test_a_search_through_the_proxy_over_postgresql(tmp_path):
    _search_through_proxy(os.environ["NAS_TEST_POSTGRES_URL"], tmp_path)


def test_an_unreachable_proxy_is_a_clear_error(monkeypatch):
    monkeypatch.setattr("nas._grpc.CONNECT_TIMEOUT_S", 0.5)
    port = _free_port()  # nothing listens there
    with pytest.raises(StorageError, match=f"no gRPC storage proxy answers at 127.0.0.1:{port}"):
        open_storage(f"grpc://127.0.0.1:{port}")


def test_missing_grpcio_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "grpc", None)  # import grpc -> ImportError
    with pytest.raises(StorageError, match=r"nas-toolkit\[grpc\]"):
        open_storage("grpc://127.0.0.1:13000")


@pytest.mark.parametrize(("text", "expected"), [
    ("db-proxy:13001", ("db-proxy", 13001)), ("db-proxy", ("db-proxy", 13000)),
    ("10.0.0.5:80/", ("10.0.0.5", 80)), (":9000", ("localhost", 9000)),
])
def test_addresses(text, expected):
    assert parse_address(text) == expected


def test_a_bad_port_is_an_error():
    with pytest.raises(ProxyError, match="port must be a number"):
        parse_address("host:http")


def test_serve_refuses_a_journal_and_a_taken_port(tmp_path):
    res = nas_cli("storage", "serve", "--storage", str(tmp_path / "study.journal"))
    assert res.returncode == 2 and "optuna issue 6084" in " ".join(res.stderr.split())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        res = nas_cli("storage", "serve", "--storage", f"sqlite:///{tmp_path}/db.sqlite",
                      "--host", "127.0.0.1", "--port", str(port))
    assert res.returncode == 2 and "choose another --port" in res.stderr
