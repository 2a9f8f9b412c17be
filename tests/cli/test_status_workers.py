"""`nas status` of a study searched by two worker processes lists each worker: host,
pid, device, trials done, last heartbeat (issue 22, deliverable 5)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

import pytest
from cli_helpers import PLUGINS, nas_cli

from nas.config import SearchConfig
from nas.worker import open_study

ROW = re.compile(r"^\s*(\d+)\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(#\d+|-)\s+"
                 r"(\d+[smhd] ago|-)\s+(\w+)\s*$", flags=re.M)


@pytest.mark.slow
def test_status_lists_two_worker_processes(tmp_path):
    import fake_task  # noqa: F401  (registers "fake" here, to create the study)

    open_study(SearchConfig(space="mlp", task="fake", trials=10, budget="3steps"), None,
               None, tmp_path, [("val_acc", "max")])
    journal = str(tmp_path / "study.journal")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([PLUGINS, os.environ.get("PYTHONPATH",
                                                                              "")]),
               NAS_PLUGINS="fake_task", NAS_FAKE_DELAY="0.3")
    quotas = {0: "2", 1: "3"}
    procs = {k: subprocess.Popen([sys.executable, "-m", "cli.main", "worker", "--storage",
                                  journal, "--trials", q, "--index", str(k), "--device",
                                  "cpu"], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
             for k, q in quotas.items()}
    for k, p in procs.items():
        out, _ = p.communicate(timeout=240)
        assert p.returncode == 0, out
        assert f"worker {k}: {quotas[k]} trials finished" in out
    res = nas_cli("status", str(tmp_path), check=True)
    assert "workers: 2 (0 working)" in res.stdout, res.stdout
    rows = {int(m[0]): m[1:] for m in ROW.findall(res.stdout)}
    host = socket.gethostname()
    for k, p in procs.items():
        assert rows[k][:6] == (host, str(p.pid), "cpu", quotas[k], "0", "-"), res.stdout
        assert rows[k][6].endswith("ago") and rows[k][7] == "finished"


def test_one_worker_prints_no_workers_table(tmp_path):
    run = tmp_path / "run"
    nas_cli("search", "--space", "mlp", "--task", "fake", "--trials", "1", "--run-dir",
            str(run), check=True)
    res = nas_cli("status", str(run), check=True)
    assert "workers:" not in res.stdout and "leaderboard" in res.stdout
