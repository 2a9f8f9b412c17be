"""Fault injection: Python's hash seed (issue 16, section 8).

``hash()`` of a string differs between processes (PYTHONHASHSEED), so anything a seed
must repeat has to use stable digests (hashlib). Every registered strategy runs here in
two processes with different hash seeds and must propose the same architectures.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from nas.strategies import list_strategies

SCRIPT = textwrap.dedent('''
    import hashlib, json, sys

    import torch

    import nas
    from nas import Result
    from nas.strategies import get_strategy, list_strategies

    def score(decisions):
        blob = json.dumps(sorted((k, str(v)) for k, v in decisions.items()))
        return int(hashlib.sha256(blob.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF

    torch.set_num_threads(1)  # the rl controller's small nets: no thread contention
    space = nas.get_space("mlp")
    out = {"hash": hash("nas-toolkit")}
    for name in list_strategies():
        strategy = get_strategy(name, space, seed=4)
        proposals = []
        for _ in range(int(sys.argv[1])):
            graph, decisions = space.resolve(strategy.ask())
            strategy.tell(decisions, Result(objectives={"val_acc": score(decisions)},
                                            metrics={"params": 1.0}))
            proposals.append([decisions, graph.fingerprint()])
        out[name] = proposals
    print(json.dumps(out, sort_keys=True, default=repr))
''')


def _start(hash_seed: str, asks: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(asks)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _proposals(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def test_every_strategy_proposes_the_same_under_any_hash_seed():
    # 12 asks: past the random start of evolution (10) and of optuna's TPE (10)
    procs = [_start("1", 12), _start("5", 12)]  # at once: half the wait
    a, b = (_proposals(p) for p in procs)
    assert a.pop("hash") != b.pop("hash")  # the two processes do hash strings differently
    assert sorted(a) == list_strategies()
    for name in a:
        assert len(a[name]) == 12
        assert a[name] == b[name], f"strategy '{name}' depends on PYTHONHASHSEED"


def test_no_python_hash_calls_in_the_repository():
    """hash() of a string changes per process: the strategy tests' objective used it
    (test_evolution_warmup_starts_breeding_early failed with PYTHONHASHSEED=5), and so
    did the module name of a user's space file. Use hashlib."""
    root = Path(__file__).resolve().parents[2]
    calls = []
    for folder in ("nas", "cli", "evaluators", "search_spaces", "tests", "bench", "examples"):
        for path in sorted((root / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "hash":
                    calls.append(f"{path.relative_to(root)}:{node.lineno}")
    assert not calls, f"hash() called at {', '.join(calls)}; use hashlib"
