"""The same trial trained in two processes learns the same weights.

A search's seed must repeat a trial on another run, machine or load: same decisions,
same steps, same lr curve, same batches, same weights. Two processes with different
hash seeds train the first trials of the default search (a capped budget, as the
default's ``1000steps,30s``) and must agree bit for bit; the load-dependent part (the
cap's clock) is covered by tests/evaluators/test_busy_machine.py with fake clocks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent('''
    import hashlib, json, sys, tempfile
    import torch
    import nas

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        study = nas.search(space="cnn", task="mnist1d", strategy="evolution", trials=2,
                           seed=0, run_dir=tmp, device="cpu", budget="40steps,30s",
                           keep_weights=2, progress=False)
        out = []
        for trial in study.completed():
            digest = hashlib.sha256()
            for name, tensor in sorted(study.load_weights(trial.number).items()):
                digest.update(name.encode())
                digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
            out.append([trial.number, trial.decisions, trial.values, digest.hexdigest()])
    print(json.dumps(out, sort_keys=True, default=repr))
''')


def _start(hash_seed: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    return subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


@pytest.mark.slow
def test_a_trial_learns_the_same_weights_in_two_processes():
    procs = [_start("2"), _start("9")]
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        outs.append(json.loads(out.strip().splitlines()[-1]))
    a, b = outs
    assert [t[0] for t in a] == [0, 1]
    assert a == b
