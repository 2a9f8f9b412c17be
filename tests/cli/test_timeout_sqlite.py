"""`nas search --timeout` stops starting trials; a SQLite storage keeps a study across
commands (status reads it, a second search continues it)."""

from __future__ import annotations

import json

from cli_helpers import nas_cli

import nas


def test_timeout_stops_starting_trials_and_finishes_the_running_one(tmp_path):
    # each trial takes 5 s, the timeout is 1 s: the first trial starts before it, and when
    # that trial ends the timeout has passed, so no second one starts
    run = tmp_path / "run"
    res = nas_cli("search", "--space", "mlp", "--task", "fake", "--trials", "5",
                  "--timeout", "1s", "--run-dir", str(run), env={"NAS_FAKE_DELAY": "5"})
    assert res.returncode == 0, res.stdout + res.stderr
    trials = json.loads(nas_cli("status", str(run), "--format", "json", check=True).stdout)
    assert [t["state"] for t in trials] == ["COMPLETE"]  # 1 of 5, and it finished


def test_sqlite_storage_keeps_the_study_for_status_and_a_second_search(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    where = ["--storage", url, "--study", "s"]
    nas_cli("search", "--space", "mlp", "--task", "fake", "--trials", "3", *where,
            check=True)
    assert (tmp_path / "x.db").is_file()
    first = json.loads(nas_cli("status", *where, "--format", "json", check=True).stdout)
    assert [t["state"] for t in first] == ["COMPLETE"] * 3

    # the same command with a higher target continues the study: the 3 trials stay
    nas_cli("search", "--space", "mlp", "--task", "fake", "--trials", "5", *where,
            check=True)
    again = nas.Study.load(nas.open_storage(url, create=False), "s").trials()
    assert len(again) == 5 and all(t.state == "COMPLETE" for t in again)
    assert [(t.number, t.fingerprint, list(t.values)) for t in again[:3]] == [
        (t["number"], t["fingerprint"], t["values"]) for t in first]
    assert len({t.fingerprint for t in again}) == 5
