"""One-shot search orchestration (nas.oneshot) on a task with fake one-shot methods
(tests/plugins/fake_oneshot.py): settings, ranking, the three phases, resume after an
interrupt in each phase, every strategy driving phase 2, and several workers."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import pytest
import torch

import nas
from cli._oneshot import phase_line
from nas import OneShot, Study, open_storage, search
from nas.config import SearchConfig
from nas.oneshot import SUPERNET_FILE, Book, Score, _flow, ranked
from nas.settings import ConfigError
from nas.supernet import SuperNet, SupernetTooLarge
from nas.worker import open_study

PLUGINS = str(Path(__file__).resolve().parents[1] / "plugins")
sys.path.insert(0, PLUGINS)
import fake_oneshot  # noqa: E402  (registers the "fake_oneshot" task)
import fake_task  # noqa: E402,F401  (the "fake" task: no one-shot methods)
from fake_oneshot import CALLS, INTERRUPT, one_shot, standalone  # noqa: E402

REAL_BUILD = _flow.build_supernet  # nas.supernet.SuperNet, before the fixture patches it


@pytest.fixture(autouse=True)
def fake_supernet(monkeypatch):
    """A one-weight stand-in for nas.supernet.SuperNet; call counts start at zero."""
    monkeypatch.setattr(_flow, "build_supernet", fake_oneshot.FakeSuperNet)
    CALLS.clear()
    INTERRUPT.clear()
    yield
    INTERRUPT.clear()


def _top(st: Study, k: int, objective=("val_acc", "max")) -> list[str]:
    """Oracle: the k best scored fingerprints by the known one-shot score, brute force."""
    fps = {s.fingerprint for s in Book(st).scores() if s.error is None}
    return sorted(fps, key=lambda fp: -one_shot(fp))[:k]


# ---------------------------------------------------------------------------- settings
def test_settings_defaults_round_trip_and_errors():
    s = OneShot()
    assert (s.budget, s.candidates, s.rule, s.sampling) == ("4000steps", 50, "slice", "uniform")
    assert (s.distinct, s.lr) == (0.25, None)  # lr: the task's choice (SUPERNET_LR_SCALE)
    assert str(OneShot(finetune=50)).endswith("50 candidates scored, each fine-tuned 50 steps")
    assert OneShot.from_dict(s.to_dict()) == s
    assert nas.oneshot.one_shot_of(True) == s and nas.oneshot.one_shot_of(None) is None
    assert nas.oneshot.one_shot_of({"candidates": 7}).candidates == 7
    for bad, word in (({"rule": "share"}, "one_shot.rule"), ({"candidates": 0}, "candidates"),
                      ({"budget": "lots"}, "one_shot.budget"), ({"colour": 1}, "colour"),
                      ({"sampling": "fair!"}, "sampling"), ({"max_mb": -1}, "max_mb")):
        with pytest.raises(ConfigError, match=word) as err:
            nas.oneshot.one_shot_of(bad)
        assert err.value.key == "one_shot"
    with pytest.raises(ConfigError, match="true, false or a mapping"):
        nas.oneshot.one_shot_of("yes")


def test_config_stores_one_shot_and_checks_trials_against_candidates():
    c = SearchConfig(space="mlp", task="fake_oneshot", trials=3,
                     one_shot={"candidates": 10, "rule": "identity"})
    assert c.one_shot == OneShot(candidates=10, rule="identity")
    assert c.to_dict()["one_shot"]["rule"] == "identity"
    assert SearchConfig.from_dict(c.to_dict()) == c
    assert SearchConfig.from_dict({"space": "mlp"}).one_shot is None  # a study from before
    assert c.differs_from(c.replace(one_shot=None)) == (
        "--one-shot: the run has no one-shot search, this command asks for supernet "
        "4000steps (identity, uniform), 10 candidates scored")
    with pytest.raises(ConfigError, match="must be <= the 10 candidates"):
        SearchConfig(space="mlp", trials=11, one_shot={"candidates": 10})


def test_task_without_one_shot_methods_is_refused_before_anything_is_stored(tmp_path):
    with pytest.raises(ValueError, match="task 'fake' cannot be searched one-shot") as err:
        search("mlp", "fake", one_shot=True, run_dir=tmp_path)
    assert "TrainLoop" in str(err.value)
    assert not (tmp_path / "study.journal").exists() or not Study.load(
        open_storage(None, tmp_path)).trials()


# ---------------------------------------------------------------------------- ranking
def _score(i, fp, acc, params=0.0, error=None):
    return Score(i, {"d": i}, fp, {} if error else {"val_acc": acc, "params": params},
                 {}, error)


def test_ranked_one_objective_ties_failures_and_repeats():
    obj = nas.objective.objectives_of([("val_acc", "max")])
    scores = [_score(0, "a", 0.5), _score(1, "b", 0.9), _score(2, "c", 0.0, error="x"),
              _score(3, "d", 0.9), _score(4, "b", 0.99), _score(5, "e", math.nan)]
    # by hand: b 0.9 (first scored of the tie) then d 0.9, then a; c failed, the second b
    # is a repeat of an architecture, e has no finite score
    assert [s.index for s in ranked(scores, obj)] == [1, 3, 0]


def test_ranked_several_objectives_puts_the_front_first():
    obj = nas.objective.objectives_of([("val_acc", "max"), ("params", "min")])
    scores = [_score(0, "a", 0.9, 100), _score(1, "b", 0.8, 10), _score(2, "c", 0.7, 50),
              _score(3, "d", 0.95, 200), _score(4, "e", 0.6, 5)]
    # by hand: front 0 = a, b, d, e (none dominated; c is dominated by b); within a
    # front by val_acc: d, a, b, e; then c
    assert [s.fingerprint for s in ranked(scores, obj)] == ["d", "a", "b", "e", "c"]


# ---------------------------------------------------------------------------- the flow
def test_one_shot_search_retrains_exactly_the_top_k_in_order(tmp_path):
    phases = []
    st = search("mlp", "fake_oneshot", strategy="random", trials=3, seed=2, run_dir=tmp_path,
                one_shot={"candidates": 12},
                on_phase=lambda p, done, total: phases.append((p, done, total)))
    assert CALLS == {"train_supernet": 1, "score_inherited": 12, "evaluate": 3}
    scores = Book(st).scores()
    assert [s.index for s in scores] == list(range(12)) and Book(st).scoring_done()
    assert len({s.fingerprint for s in scores}) == 12  # never the same one twice
    for s in scores:
        assert s.objectives["val_acc"] == pytest.approx(one_shot(s.fingerprint))
    trials = st.trials()
    assert [t.fingerprint for t in trials] == _top(st, 3)  # best first, in trial order
    for rank, t in enumerate(trials):
        assert t.state == "COMPLETE"
        assert t.values[0] == pytest.approx(standalone(t.fingerprint))  # stand-alone score
        assert t.metrics["one_shot_val_acc"] == pytest.approx(one_shot(t.fingerprint))
        assert t.attrs["one_shot"]["rank"] == rank
    assert ("supernet", 3, 3) in phases and phases[-1] == ("scoring", 12, 12)
    saved = torch.load(tmp_path / SUPERNET_FILE, weights_only=True)
    assert float(saved["w"]) == 1.0  # the trained store
    assert Book(st).supernet()["file"] == SUPERNET_FILE  # relative to the run folder
    st.leaderboard()  # the ordinary leaderboard reads the trials unchanged


def test_distinct_retrains_the_greedy_far_apart_top_in_order(tmp_path):
    from nas.oneshot._book import decision_distance

    st = search("mlp", "fake_oneshot", strategy="random", trials=3, seed=2, run_dir=tmp_path,
                one_shot={"candidates": 12, "distinct": 0.5})
    best = sorted((s for s in Book(st).scores() if s.error is None),
                  key=lambda s: -one_shot(s.fingerprint))
    far = []  # oracle: walk the known ranking, keep what differs from all kept in half
    for s in best:
        if all(decision_distance(s.decisions, t.decisions) >= 0.5 for t in far):
            far.append(s)
    want = [s.fingerprint for s in far[:3]]
    want += [s.fingerprint for s in best if s.fingerprint not in want][:3 - len(want)]
    assert sorted(t.fingerprint for t in st.trials()) == sorted(want)
    assert [t.fingerprint for t in st.trials()] == [fp for fp in _top(st, 12) if fp in want]
    assert st.trials()[0].fingerprint == _top(st, 1)[0]  # the best is always retrained


def test_in_memory_one_shot_search_saves_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    st = search("mlp", "fake_oneshot", strategy="random", trials=2, seed=0,
                one_shot={"candidates": 5})
    assert [t.fingerprint for t in st.trials()] == _top(st, 2)
    assert Book(st).supernet()["file"] is None and not list(tmp_path.iterdir())


def test_several_objectives_retrain_the_first_front_first(tmp_path):
    st = search("mlp", "fake_oneshot", strategy="random", trials=3, seed=1, run_dir=tmp_path,
                one_shot={"candidates": 10}, objectives=[("val_acc", "max"), ("params", "min")])
    ok = [s for s in Book(st).scores() if s.error is None]
    pts = {s.fingerprint: (s.objectives["val_acc"], -s.objectives["params"]) for s in ok}

    def dominated(fp):  # brute force: some other point at least as good in both, better in one
        a = pts[fp]
        return any(b[0] >= a[0] and b[1] >= a[1] and b != a for b in pts.values())
    front = {fp for fp in pts if not dominated(fp)}
    retrained = [t.fingerprint for t in st.trials()]
    assert len(retrained) == 3
    assert set(retrained) <= front if len(front) >= 3 else front <= set(retrained)
    for t in st.trials():
        assert t.metrics["one_shot_params"] == t.metrics["params"]  # the candidate's own graph


@pytest.mark.parametrize("strategy", nas.list_strategies())
def test_every_strategy_drives_phase_2_unchanged(strategy, tmp_path):
    st = search("mlp", "fake_oneshot", strategy=strategy, trials=2, seed=0, run_dir=tmp_path,
                one_shot={"candidates": 6})
    scores = Book(st).scores()
    assert len(scores) == 6 and len({s.fingerprint for s in scores}) == 6
    assert CALLS["score_inherited"] == 6
    assert [t.fingerprint for t in st.trials()] == _top(st, 2)


# ---------------------------------------------------------------------------- resume
def test_interrupt_while_training_the_supernet_then_resume(tmp_path):
    INTERRUPT["train_supernet"] = 1
    with pytest.raises(KeyboardInterrupt):
        search("mlp", "fake_oneshot", trials=2, run_dir=tmp_path, one_shot={"candidates": 4})
    assert not (tmp_path / SUPERNET_FILE).exists()
    st = search("mlp", "fake_oneshot", trials=2, run_dir=tmp_path, one_shot={"candidates": 4})
    assert CALLS == {"train_supernet": 2, "score_inherited": 4, "evaluate": 2}
    assert [t.fingerprint for t in st.trials()] == _top(st, 2)


def test_interrupt_while_scoring_then_resume_scores_only_the_rest(tmp_path):
    INTERRUPT["score_inherited"] = 5  # four candidates scored, the fifth interrupted
    kw = dict(strategy="evolution", trials=3, seed=0, run_dir=tmp_path,
              one_shot={"candidates": 10})
    with pytest.raises(KeyboardInterrupt):
        search("mlp", "fake_oneshot", **kw)
    st = Study.load(open_storage(None, tmp_path))
    first = Book(st).scores()
    assert len(first) == 4 and not st.trials() and not Book(st).scoring_done()
    assert phase_line(st) == ("one-shot phase: scoring 4/10 candidates; "  # nas status
                              "supernet: 3 steps")
    INTERRUPT.clear()
    st = search("mlp", "fake_oneshot", **kw)
    assert CALLS == {"train_supernet": 1, "score_inherited": 5 + 6, "evaluate": 3}
    scores = Book(st).scores()
    assert scores[:4] == first and len(scores) == 10  # kept, then the rest
    assert [t.fingerprint for t in st.trials()] == _top(st, 3)


def test_interrupt_while_retraining_then_resume_trains_only_the_rest(tmp_path):
    INTERRUPT["evaluate"] = 2  # the second retrained candidate is interrupted
    kw = dict(strategy="random", trials=3, seed=0, run_dir=tmp_path,
              one_shot={"candidates": 8})
    with pytest.raises(KeyboardInterrupt):
        search("mlp", "fake_oneshot", **kw)
    INTERRUPT.clear()
    st = search("mlp", "fake_oneshot", **kw)
    assert CALLS == {"train_supernet": 1, "score_inherited": 8, "evaluate": 2 + 2}
    done = [t for t in st.trials() if t.counts]
    assert [t.fingerprint for t in done] == _top(st, 3)
    assert st.trials()[1].error == "interrupted"  # the stopped one, retrained after


def test_resume_with_more_trials_retrains_the_next_ones(tmp_path):
    kw = dict(strategy="random", seed=0, run_dir=tmp_path, one_shot={"candidates": 8})
    search("mlp", "fake_oneshot", trials=2, **kw)
    st = search("mlp", "fake_oneshot", trials=4, **kw)
    assert CALLS == {"train_supernet": 1, "score_inherited": 8, "evaluate": 4}
    assert [t.fingerprint for t in st.trials()] == _top(st, 4)


def test_changed_one_shot_settings_are_refused_on_resume(tmp_path):
    search("mlp", "fake_oneshot", trials=1, run_dir=tmp_path, one_shot={"candidates": 3})
    with pytest.raises(nas.StorageError, match="--one-shot"):
        search("mlp", "fake_oneshot", trials=1, run_dir=tmp_path, one_shot={"candidates": 4})
    with pytest.raises(nas.StorageError, match="--one-shot"):
        search("mlp", "fake_oneshot", trials=1, run_dir=tmp_path)


@pytest.mark.slow  # two spawned worker processes
def test_several_workers_share_the_queue_of_top_candidates(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_PLUGINS", "fake_task,fake_oneshot")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([PLUGINS, os.environ.get(
        "PYTHONPATH", "")]))
    st = search("mlp", "fake_oneshot", strategy="random", trials=3, workers=2, seed=0,
                run_dir=tmp_path, one_shot={"candidates": 8})
    assert sorted(t.fingerprint for t in st.trials()) == sorted(_top(st, 3))
    assert all(t.metrics["one_shot_val_acc"] == pytest.approx(one_shot(t.fingerprint))
               for t in st.trials())


def test_trials_default_to_three_retrained_with_one_shot(tmp_path):
    st = search("mlp", "fake_oneshot", strategy="random", run_dir=tmp_path,
                one_shot={"candidates": 4})
    assert st.config["trials"] == nas.oneshot.RETRAIN == 3 and len(st.trials()) == 3
    assert st.config["one_shot"]["candidates"] == 4  # stored: nas resume and status read it


def test_the_settings_reach_the_supernet_and_its_training(tmp_path):
    config = SearchConfig.create(space="mlp", task="fake_oneshot", trials=1,
                                 one_shot={"rule": "identity", "probe": 5, "sampling": "fair"})
    net = REAL_BUILD(config.space_object(), config)
    assert isinstance(net, SuperNet) and (net.rule, net.probe) == ("identity", 5)
    st = search(config=config, run_dir=tmp_path)
    assert Book(st).supernet()["metrics"]["sampling"] == "fair"  # what train_supernet got


def test_lr_reaches_train_supernet_and_a_task_without_it_is_refused(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="another learning rate"):
        SearchConfig.create(space="mlp", task="fake_oneshot", trials=1,
                            one_shot={"lr": 0.003})
    seen = []
    cls = type(nas.get_task("fake_oneshot"))
    plain = cls.train_supernet

    def with_lr(self, *args, lr=None, **kwargs):
        seen.append(lr)
        return plain(self, *args, **kwargs)

    monkeypatch.setattr(cls, "train_supernet", with_lr)
    search("mlp", "fake_oneshot", strategy="random", trials=1, run_dir=tmp_path / "a",
           one_shot={"candidates": 2, "lr": 0.003})
    search("mlp", "fake_oneshot", strategy="random", trials=1, run_dir=tmp_path / "b",
           one_shot={"candidates": 2})
    assert seen == [0.003, None]  # unset: not passed, the task's own
    for bad in (0, -1e-3, math.inf, True, "1e-3"):
        with pytest.raises(ConfigError, match="one_shot.lr"):
            OneShot(lr=bad)


def test_a_supernet_too_large_is_a_clear_error_and_keeps_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(_flow, "build_supernet", REAL_BUILD)
    with pytest.raises(SupernetTooLarge, match="MB"):
        search("mlp", "fake_oneshot", trials=1, run_dir=tmp_path,
               one_shot={"probe": 5, "max_mb": 1e-6})
    import optuna

    assert optuna.study.get_all_study_names(open_storage(None, tmp_path)) == []  # a re-run


def test_status_says_the_supernet_trains_before_anything_is_stored(tmp_path):
    config = SearchConfig.create(space="mlp", task="fake_oneshot", trials=1, one_shot=True)
    st = open_study(config, None, None, tmp_path)  # what a search has made when it starts
    assert phase_line(st) == "one-shot phase: training the supernet"
    plain = open_study(config.replace(one_shot=None), None, "plain", tmp_path)
    assert phase_line(plain) is None


@pytest.mark.parametrize("every_s", [0.0, 1e9])
def test_status_shows_the_supernet_step_during_and_after_phase_1(every_s, tmp_path,
                                                                 monkeypatch):
    lines = []  # nas status's phase line each time phase 1 stores its step
    real = Book.set_progress

    def spy(self, step, total):
        real(self, step, total)
        lines.append(phase_line(self.study))

    monkeypatch.setattr(Book, "set_progress", spy)
    monkeypatch.setattr(_flow, "PROGRESS_EVERY_S", every_s)
    st = search("mlp", "fake_oneshot", trials=2, run_dir=tmp_path, one_shot={"candidates": 4})
    stored = [1, 2, 3] if every_s == 0 else [1, 3]  # throttled: the first and the last
    assert lines == [f"one-shot phase: training the supernet, step {s}/3" for s in stored]
    assert phase_line(st) == ("one-shot phase: done, retrained 2/2 (scored 4 candidates "
                              "with inherited weights); supernet: 3 steps")


def test_progress_alone_does_not_keep_a_study(tmp_path):
    config = SearchConfig.create(space="mlp", task="fake_oneshot", trials=1, one_shot=True)
    book = Book(open_study(config, None, None, tmp_path))
    book.set_progress(5, 10)
    assert not book.started() and book.progress() == {"step": 5, "total": 10}
    assert phase_line(book.study) == "one-shot phase: training the supernet, step 5/10"


def test_a_worker_that_finds_the_queue_taken_repeats_the_last_rather_than_crash(tmp_path):
    st = search("mlp", "fake_oneshot", strategy="random", trials=2, run_dir=tmp_path,
                one_shot={"candidates": 4})
    queue = nas.oneshot.Queue(st, 2)
    top = _top(st, 2)
    assert [s.fingerprint for s in queue.top()] == top
    assert queue.next(st.trials()) is None  # both taken: the worker loop stops here
    space = SearchConfig.from_dict(st.config).space_object()
    graph, _, _ = queue.propose(space, st.trials())  # a racing worker: the last again
    assert graph.fingerprint() == top[-1]
    assert queue.next([], index=1).fingerprint == top[1]  # worker 1 starts at the 2nd
    assert queue.next([], index=5).fingerprint == top[-1]  # ...or the last one left
