"""A study written by hand, for tests of what reads one (status, leaderboard, plots)."""

from __future__ import annotations

import optuna

import nas


def hand_study(outcomes, objectives=(("val_acc", "max"),)) -> nas.Study:
    """An in-memory study of a ``fake``-task search, one trial per outcome: a tuple of
    objective values, None (failed: "runtime error: boom") or "stop" (a Ctrl-C'd trial)."""
    st = nas.Study(optuna.storages.InMemoryStorage(), "s", list(objectives))
    st.set_config({"space": "mlp", "task": "fake", "strategy": "random",
                   "trials": len(outcomes)})
    for values in outcomes:
        tid, _ = st.new_trial({}, {}, {})
        if values in (None, "stop"):
            st.finish(tid, nas.Result.failure("interrupted" if values else
                                              "runtime error: boom"),
                      interrupted=values == "stop")
        else:
            st.finish(tid, nas.Result(dict(zip((n for n, _ in objectives), values))))
    return st
