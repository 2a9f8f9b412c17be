"""Fault injection: two commands on one run folder (issue 16, section 6).

Two identical ``nas search ... --trials 6`` on one run folder, started a second apart,
once finished with 6 trials of only 3 distinct architectures: both were worker 0 with
the same seed. Each command now takes a worker index from the storage (distinct seeds),
and no worker trains an architecture that another trial runs or ran.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from optuna.trial import TrialState

from nas import Result, Study, open_storage, search
from nas._roster import Claim
from nas.config import SearchConfig
from nas.worker import DUPLICATE_TRIES, Worker, open_study

PLUGINS = str(Path(__file__).resolve().parents[1] / "plugins")
sys.path.insert(0, PLUGINS)
import fake_task  # noqa: E402,F401  (registers the "fake" task in this process)


def test_two_search_commands_on_one_run_folder_are_two_workers(tmp_path):
    run = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([PLUGINS, os.environ.get("PYTHONPATH",
                                                                              "")]),
               NAS_PLUGINS="fake_task", NAS_FAKE_DELAY="1.0")
    cmd = [sys.executable, "-m", "cli.main", "search", "--space", "mlp", "--task", "fake",
           "--trials", "8", "--run-dir", str(run)]
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    time.sleep(1.0)
    second = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    outs = [p.communicate(timeout=300)[0] for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, "\n".join(outs)
    trials = Study.load(open_storage(None, run)).trials()
    assert len(trials) >= 8 and all(t.state == "COMPLETE" for t in trials)
    fingerprints = [t.fingerprint for t in trials]
    assert len(set(fingerprints)) == len(fingerprints)  # no architecture trained twice
    assert {t.attrs["worker"]["index"] for t in trials} == {0, 1}  # two seeds


def test_worker_indexes_come_from_the_storage(tmp_path):
    st = open_study(SearchConfig(space="mlp", task="fake"), None, None, tmp_path,
                    [("val_acc", "max")])
    with Claim(st) as a, Claim(st) as b, Claim(st, index=7) as given:
        assert (a.index, b.index, given.index) == (0, 1, 7)
        b.release()
        with Claim(st) as c:  # the lowest free index
            assert c.index == 1
    with Claim(st) as alone:  # all released: a search resumed alone is worker 0 again
        assert alone.index == 0
    dead = Claim(st)  # registered by a process that is gone (same host, no such pid)
    dead._stop.set()
    dead.entry["pid"] = 2**22 + 12345
    dead._write()
    with Claim(st) as d:
        assert d.index == 0


def test_a_search_alone_stays_worker_0_and_reproducible(tmp_path):
    a = search("mlp", "fake", trials=2, seed=3, run_dir=tmp_path / "a")
    a = search("mlp", "fake", trials=4, seed=3, run_dir=tmp_path / "a")  # resumed
    b = search("mlp", "fake", trials=4, seed=3, run_dir=tmp_path / "b")
    assert {t.attrs["worker"]["index"] for t in a.trials()} == {0}
    assert [t.fingerprint for t in a.trials()] == [t.fingerprint for t in b.trials()]


class Scripted:
    """A strategy stand-in that proposes given decisions and records what it is told."""

    def __init__(self, proposals):
        self.proposals, self.asked, self.told = list(proposals), 0, []

    def ask(self) -> dict:
        self.asked += 1
        return dict(self.proposals.pop(0) if len(self.proposals) > 1 else self.proposals[0])

    def tell(self, decisions, result) -> None:
        self.told.append((decisions, result))


def _worker(tmp_path):
    config = SearchConfig(space="mlp", task="fake", trials=10)
    worker = Worker(open_study(config, None, None, tmp_path, [("val_acc", "max")]), config)
    space = worker.space
    a, b, c = (space.sample(seed) for seed in range(3))
    fp = {k: space.fingerprint(d) for k, d in zip("abc", (a, b, c))}
    study = worker.study
    elsewhere = {"worker": {"index": 9, "host": "elsewhere", "pid": 1},
                 "heartbeat": time.time()}
    study.new_trial(a, space.domains, {"decisions": a, "fingerprint": fp["a"], **elsewhere})
    tid, _ = study.new_trial(b, space.domains, {"decisions": b, "fingerprint": fp["b"],
                                                **elsewhere})
    study.storage.set_trial_state_values(tid, TrialState.COMPLETE, [0.25])
    return worker, (a, b, c), fp


def test_a_worker_never_trains_an_architecture_running_or_finished_elsewhere(tmp_path):
    worker, (a, b, c), fp = _worker(tmp_path)
    worker.strategy = Scripted([a, b, c])
    rec = worker.run_one()
    assert rec.fingerprint == fp["c"] and worker.strategy.asked == 3
    # the finished duplicate's result was told (the running one has none yet), then c's
    told = [(d, r.objectives) for d, r in worker.strategy.told]
    assert told[0] == (b, {"val_acc": 0.25}) and told[1][0] == c and len(told) == 2
    assert len({t.fingerprint for t in worker.study.trials()}) == 3


def test_the_duplicate_check_is_bounded(tmp_path):
    """A strategy that only proposes a running architecture gets it after a few tries
    (a space with nothing else left), rather than looping forever."""
    worker, (a, _, _), fp = _worker(tmp_path)
    worker.strategy = Scripted([a])
    rec = worker.run_one()
    assert worker.strategy.asked == DUPLICATE_TRIES and rec.fingerprint == fp["a"]
    assert rec.state == "COMPLETE" and isinstance(worker.strategy.told[-1][1], Result)


def test_nas_worker_without_index_takes_a_free_one(tmp_path):
    """`nas worker` once defaulted to --index 1: two of them shared a seed."""
    from typer.testing import CliRunner

    from cli.main import app

    st = open_study(SearchConfig(space="mlp", task="fake", trials=2, budget="3steps"), None,
                    None, tmp_path, [("val_acc", "max")])
    journal = str(tmp_path / "study.journal")
    with Claim(st, index=0), Claim(st, index=1):  # two workers running already
        out = CliRunner().invoke(app, ["worker", "--storage", journal, "--trials", "1"])
    assert out.exit_code == 0, out.output
    assert "worker 2: 1 trial finished" in out.output
    trials = Study.load(open_storage(journal)).trials()
    assert [t.attrs["worker"]["index"] for t in trials] == [2]
