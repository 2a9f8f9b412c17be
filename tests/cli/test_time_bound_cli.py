"""`nas search --timeout` with no `--trials`: no trial target, trials until the timeout;
the command, `nas status` and `nas resume` say so."""

from __future__ import annotations

import nas
from tests.cli_helpers import nas_cli


def test_search_with_a_timeout_alone_has_no_trial_target(tmp_path):
    run = tmp_path / "run"
    res = nas_cli("search", "--space", "mlp", "--task", "fake", "--strategy", "random",
                  "--timeout", "5s", "--run-dir", str(run), check=True)
    assert "with random: trials for 5s, budget" in res.stdout
    st = nas.Study.load(nas.open_storage(None, run))
    assert st.config["trials"] is None
    done = len(st.trials())
    assert done >= 1
    status = nas_cli("status", str(run), check=True).stdout
    finished = f"{done} trial{'' if done == 1 else 's'} finished ("
    assert finished in status and " of " not in status.split("\n")[0]
    # resuming needs a bound: a trial count (nas resume has no --timeout)
    again = nas_cli("resume", str(run))
    assert again.returncode != 0 and "--trials N" in again.stdout + again.stderr
    nas_cli("resume", str(run), "--trials", str(done + 1), check=True)
    assert len(nas.Study.load(nas.open_storage(None, run)).trials()) == done + 1


def test_trials_and_timeout_together_keep_the_trial_count(tmp_path):
    run = tmp_path / "run"
    res = nas_cli("search", "--space", "mlp", "--task", "fake", "--strategy", "random",
                  "--timeout", "10m", "--trials", "2", "--run-dir", str(run), check=True)
    assert "with random: 2 trials, budget" in res.stdout
    assert len(nas.Study.load(nas.open_storage(None, run)).trials()) == 2
