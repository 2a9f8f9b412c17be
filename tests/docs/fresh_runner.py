"""Run Python files each as its own fresh ``__main__``, quickly: ``python fresh_runner.py
FILE...``.

One process imports the heavy third-party libraries once (torch, numpy, pandas, optuna,
networkx, matplotlib), then forks a child per FILE. A child starts from that state, which
has never imported this project (`nas`, `evaluators`, `search_spaces`, `cli`): it imports
what the file imports, with pristine registries and an empty namespace, in the runner's
working folder (as `python FILE` there, the folder first on sys.path), so a file that
leans on an earlier one's names or registrations fails as it would in a fresh
interpreter; files an earlier one wrote in the folder stay, as for a reader who follows a
page step by step. The i-th file's stdout, stderr and exit status (0, or 1 with the
traceback in stderr) go to .snippets/<i>.out, .err and .rc in the working folder.

Why not one interpreter per file: importing torch is most of a snippet's cost here
(about 2 of 2.5 s on our CPU), and the docs hold a couple of dozen snippets.
"""

from __future__ import annotations

import os
import runpy
import sys
import traceback
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
import matplotlib.pyplot  # noqa: E402,F401  (warm imports: third-party only)
import networkx  # noqa: E402,F401
import numpy  # noqa: E402,F401
import optuna  # noqa: E402,F401
import pandas  # noqa: E402,F401
import torch  # noqa: E402,F401

OURS = ("nas", "evaluators", "search_spaces", "cli")


def run_child(path: Path) -> int:
    """In the forked child: run `path` as __main__; 0 when it returned."""
    sys.path[0] = os.getcwd()
    try:
        runpy.run_path(str(path), run_name="__main__")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001  (report any failure, as python would)
        traceback.print_exc()
        return 1
    return 0


def main(files: list[Path]) -> None:
    assert not any(m.split(".")[0] in OURS for m in sys.modules), "not fresh"
    log = Path(".snippets")
    log.mkdir(exist_ok=True)
    for i, path in enumerate(files):
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            with open(log / f"{i}.out", "w") as so, open(log / f"{i}.err", "w") as se:
                os.dup2(so.fileno(), 1)
                os.dup2(se.fileno(), 2)
                rc = run_child(path.resolve())
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(rc)
        _, status = os.waitpid(pid, 0)
        (log / f"{i}.rc").write_text(str(os.waitstatus_to_exitcode(status)))


if __name__ == "__main__":
    main([Path(p) for p in sys.argv[1:]])
