"""The runner and the search CLI: storage, workers, crash safety, bad input."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import nas
from nas import Study, open_storage, search
from nas.config import SearchConfig
from nas.processes import resolve_workers
from nas.worker import open_study

PLUGINS = str(Path(__file__).resolve().parents[1] / "plugins")
sys.path.insert(0, PLUGINS)
os.environ["NAS_PLUGINS"] = "fake_task"
import fake_task  # noqa: E402,F401  (registers the "fake" task in this process)
from cli_helpers import nas_cli  # noqa: E402


def test_python_api_search_best_leaderboard_pareto(tmp_path):
    st = search("mlp", "fake", trials=6, seed=1, run_dir=tmp_path,
                objectives=[("val_acc", "max"), ("params", "min")])
    trials = st.trials()
    assert len(trials) == 6 and all(t.state == "COMPLETE" for t in trials)
    assert len({t.fingerprint for t in trials}) == 6
    df = st.leaderboard()
    assert list(df["val_acc"]) == sorted(df["val_acc"], reverse=True)
    front = st.pareto_front()
    assert front and st.best in front
    for t in trials:  # nothing on the front is dominated
        for f in front:
            assert not (t.values[0] > f.values[0] and t.values[1] < f.values[1])
    # graphs and decisions are stored and rebuild the same architecture
    space = nas.get_space("mlp")
    for t in trials:
        assert space.build(t.decisions).fingerprint() == t.fingerprint == t.graph.fingerprint()
    # the run folder holds the journal; reopening it gives the same trials
    again = Study.load(open_storage(None, tmp_path))
    assert [t.number for t in again.trials()] == [t.number for t in trials]


def test_resume_continues_to_the_target_and_keeps_trials(tmp_path):
    search("mlp", "fake", trials=3, seed=0, run_dir=tmp_path)
    st = search("mlp", "fake", trials=7, seed=0, run_dir=tmp_path)
    assert len(st.trials()) == 7
    assert len({t.fingerprint for t in st.trials()}) == 7


def test_failed_trials_are_recorded_with_reasons(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_FAKE_FAIL_PREFIX", "")  # "" prefixes every fingerprint: all fail
    st = search("mlp", "fake", trials=3, run_dir=tmp_path)
    assert [t.state for t in st.trials()] == ["FAIL"] * 3
    assert all(t.error == "runtime error: fake failure" for t in st.trials())
    assert st.best is None


def test_end_to_end_cli_search_status_plot(tmp_path):
    run = tmp_path / "run"
    res = nas_cli("search", "--space", "mlp", "--task", "mnist1d", "--trials", "4",
                  "--budget", "20steps", "--run-dir", str(run), "--seed", "3", check=True)
    assert "leaderboard" in res.stdout and "[4/4]" in res.stdout
    status = json.loads(nas_cli("status", str(run), "--format", "json", check=True).stdout)
    assert len(status) == 4
    for t in status:
        assert t["state"] == "COMPLETE" and t["decisions"] and t["fingerprint"]
        assert {"number", "state", "values", "decisions", "fingerprint", "error"} <= set(t)
    out = tmp_path / "search.png"
    nas_cli("plot", str(run), "--out", str(out), check=True)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = nas_cli("status", str(run), check=True).stdout
    assert "4 trials of 4" in table


def test_two_workers_share_a_journal(tmp_path):
    journal = str(tmp_path / "study.journal")
    config = SearchConfig(space="mlp", task="fake", trials=10, objectives=[["val_acc", "max"]])
    open_study(config, journal, "shared", objectives=[("val_acc", "max")])
    env = {"NAS_FAKE_DELAY": "0.2"}
    e = dict(os.environ, PYTHONPATH=PLUGINS, NAS_PLUGINS="fake_task", **env)
    procs = [subprocess.Popen([sys.executable, "-m", "cli.main", "worker", "--storage", journal,
                               "--study", "shared", "--trials", "5", "--index", str(i)],
                              env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in (1, 2)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    st = Study.load(open_storage(journal), "shared")
    trials = st.trials()
    assert len(trials) == 10
    assert sorted(t.number for t in trials) == list(range(10))
    assert all(t.state == "COMPLETE" for t in trials)
    assert {t.attrs["worker"]["index"] for t in trials} == {1, 2}


def test_cli_workers_flag_runs_processes(tmp_path):
    run = tmp_path / "run"
    nas_cli("search", "--space", "mlp", "--task", "fake", "--trials", "4", "--workers", "2",
            "--run-dir", str(run), env={"NAS_FAKE_DELAY": "0.3"}, check=True)
    st = Study.load(open_storage(None, run))
    assert len(st.completed()) == 4
    assert len({t.attrs["worker"]["pid"] for t in st.trials()}) == 2


@pytest.mark.slow
def test_sigkill_then_resume_loses_nothing_and_retries_the_stale_trial(tmp_path):
    run, hold = tmp_path / "run", tmp_path / "hold"
    hold.mkdir()
    # three trials finish, the fourth evaluation writes a file in hold and never ends
    e = dict(os.environ, PYTHONPATH=PLUGINS, NAS_PLUGINS="fake_task", NAS_FAKE_DELAY="0",
             NAS_FAKE_HOLD=str(hold), NAS_FAKE_HOLD_AFTER="3")
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "search", "--space", "mlp",
                             "--task", "fake", "--trials", "8", "--run-dir", str(run)],
                            env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300  # a hang guard: no machine is too fast or slow
    while not any(hold.iterdir()) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert any(hold.iterdir()), proc.communicate() if proc.poll() is not None else "hung"
    proc.send_signal(signal.SIGKILL)  # while the fourth trial is running
    proc.wait()
    before = Study.load(open_storage(None, run)).completed()
    assert len(before) == 3
    stale = Study.load(open_storage(None, run)).trials(("RUNNING",))
    assert len(stale) == 1
    res = nas_cli("resume", str(run), env={"NAS_FAKE_DELAY": "0.1"})
    assert res.returncode == 0, res.stderr
    st = Study.load(open_storage(None, run))
    after = {t.number: t for t in st.trials()}
    for t in before:  # every trial finished before the kill is still there, unchanged
        assert after[t.number].state == "COMPLETE" and after[t.number].values == t.values
    dead = after[stale[0].number]
    assert dead.state == "FAIL" and "worker died" in dead.error
    retries = [t for t in after.values() if t.attrs.get("retry_of") == dead.number]
    assert len(retries) == 1 and retries[0].decisions == stale[0].decisions
    counted = [t for t in after.values() if t.state == "COMPLETE"]
    assert len(counted) == 8


# ------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("args,needle", [
    (["--space", "mpl"], "did you mean mlp"),
    (["--task", "mnist1"], "did you mean mnist1d"),
    (["--strategy", "evolutoin"], "did you mean evolution"),
    (["--budget", "3 lightyears"], "cannot read budget"),
    (["--workers", "zero"], "--workers"),
    (["--objectives", "val_acc:up"], "name:max or name:min"),
    (["--storage", "postgresql://nobody:secret@127.0.0.1:9/none"], "postgresql://nobody:***@"),
])
def test_bad_input_exits_2_with_a_hint(tmp_path, args, needle):
    res = nas_cli("search", "--task", "fake", *args, "--run-dir", str(tmp_path / "r"))
    assert res.returncode == 2, res.stdout + res.stderr
    text = " ".join((res.stdout + res.stderr).split())
    assert needle in text
    assert "secret" not in text  # passwords are not echoed
    assert not (tmp_path / "r" / "study.journal").exists()


def test_malformed_configs(tmp_path):
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("space: [mlp\n")
    res = nas_cli("search", "--config", str(bad_yaml))
    assert res.returncode == 2 and "malformed" in res.stderr
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('spaec = "mlp"\n')
    res = nas_cli("search", "--config", str(unknown))
    assert res.returncode == 2 and "did you mean 'space'" in " ".join(res.stderr.split())


def test_config_file_with_flag_override(tmp_path):
    cfg = tmp_path / "search.yaml"
    cfg.write_text("space: mlp\ntask: fake\ntrials: 5\nseed: 4\n")
    run = tmp_path / "run"
    nas_cli("search", "--config", str(cfg), "--trials", "2", "--run-dir", str(run), check=True)
    st = Study.load(open_storage(None, run))
    assert len(st.trials()) == 2 and st.config["seed"] == 4


def test_existing_study_with_other_objectives_is_refused(tmp_path):
    run = tmp_path / "run"
    nas_cli("search", "--space", "mlp", "--task", "fake", "--trials", "1", "--run-dir", str(run),
            check=True)
    res = nas_cli("search", "--space", "mlp", "--task", "fake", "--trials", "2",
                  "--run-dir", str(run), "--objectives", "val_acc:max,params:min")
    assert res.returncode == 2
    assert "exists with objectives" in " ".join(res.stderr.split())
    assert len(Study.load(open_storage(None, run)).trials()) == 1


def test_status_of_a_missing_run_folder(tmp_path):
    res = nas_cli("status", str(tmp_path / "nope"))
    assert res.returncode == 2 and "not a run folder" in res.stderr


@pytest.mark.skipif(not os.environ.get("NAS_TEST_POSTGRES_URL"),
                    reason="set NAS_TEST_POSTGRES_URL to a PostgreSQL database to run this")
@pytest.mark.xdist_group("postgres")  # one server: its tests run one at a time
def test_two_workers_on_postgresql():
    import uuid

    url = os.environ["NAS_TEST_POSTGRES_URL"]
    name = f"pg-{uuid.uuid4().hex[:8]}"
    config = SearchConfig(space="mlp", task="fake", trials=6, objectives=[["val_acc", "max"]])
    open_study(config, url, name, objectives=[("val_acc", "max")])
    e = dict(os.environ, PYTHONPATH=PLUGINS, NAS_PLUGINS="fake_task", NAS_FAKE_DELAY="0.2")
    procs = [subprocess.Popen([sys.executable, "-m", "cli.main", "worker", "--storage", url,
                               "--study", name, "--trials", "3", "--index", str(i)], env=e,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in (1, 2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    st = Study.load(open_storage(url), name)
    assert sorted(t.number for t in st.trials()) == list(range(6))
    assert all(t.state == "COMPLETE" for t in st.trials())


def test_runner_overhead_bench_runs_and_writes_results(tmp_path, monkeypatch):
    """bench/runner_overhead.py end to end with tiny settings (one worker, no timing checked)."""
    from bench_helpers import load_bench

    for key in ("NAS_SLEEP_S", "NAS_PLUGINS", "PYTHONPATH"):  # main() sets them: restore
        monkeypatch.setenv(key, os.environ.get(key, ""))
    bench = load_bench("runner_overhead")
    out = bench.main(["--trials", "3", "--sleep", "0.05", "--workers", "1", "--big", "15",
                      "--big-trials", "2", "--real-trials", "0", "--out", str(tmp_path)])
    (row,) = out["sleep"]  # its timings are the benchmark's to report, not checked here
    assert row["trials"] == 3 and math.isfinite(row["overhead_share"])
    assert [r["prefill"] for r in out["big_study"]] == [0, 15]
    saved = json.loads((tmp_path / "runner_overhead.json").read_text())
    assert saved["sleep"][0]["trials"] == 3
    assert "| sleep 0.05s | 1 | 3 |" in (tmp_path / "runner_overhead.md").read_text()


def test_a_crashed_worker_process_is_an_error_not_a_silent_empty_search(tmp_path):
    """A script without the __main__ guard: its spawned workers fail while importing it;
    the search says so (and how to fix it) instead of returning with no trials."""
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import nas\n"
        f"nas.search('mlp', 'fake', trials=2, workers=2, run_dir={str(tmp_path / 'run')!r})\n")
    e = dict(os.environ, PYTHONPATH=PLUGINS, NAS_PLUGINS="fake_task")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=e, timeout=300)
    assert proc.returncode != 0
    assert "WorkerCrashed" in proc.stderr and '__name__ == "__main__"' in proc.stderr


@pytest.mark.parametrize("workers, device, gpus, expected", [
    # no GPU: one process on the CPU for "auto", N processes for auto:N or N
    ("auto", "auto", 0, (1, ["cpu"])),
    ("auto:3", "auto", 0, (3, ["cpu", "cpu", "cpu"])),
    (2, "cpu", 0, (2, ["cpu", "cpu"])),
    # two GPUs: one process per GPU, N per GPU, or N spread round-robin over them
    ("auto", "auto", 2, (2, ["cuda:0", "cuda:1"])),
    ("auto", "cuda", 2, (2, ["cuda:0", "cuda:1"])),
    ("auto:2", "auto", 2, (4, ["cuda:0", "cuda:1", "cuda:0", "cuda:1"])),
    (3, "auto", 2, (3, ["cuda:0", "cuda:1", "cuda:0"])),
    ("1", "auto", 2, (1, ["cuda:0"])),
    # an explicit CPU device leaves the GPUs alone
    ("auto", "cpu", 2, (1, ["cpu"])),
    (2, "cpu", 2, (2, ["cpu", "cpu"])),
])
def test_resolve_workers_spreads_processes_over_the_gpus(monkeypatch, workers, device, gpus,
                                                          expected):
    import torch

    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    assert resolve_workers(workers, device) == expected


def test_resolve_workers_refuses_no_workers():
    with pytest.raises(ValueError, match="--workers"):
        resolve_workers(0, "cpu")
