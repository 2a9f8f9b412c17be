"""`nas` run as a user runs it: a subprocess of this checkout's CLI, with the test plugins
(the "fake" task) importable and a wide terminal so that messages are not wrapped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PLUGINS = str(Path(__file__).parent / "plugins")


def nas_cli(*args, env=None, timeout=300, check=False) -> subprocess.CompletedProcess:
    """``nas ARGS`` in a subprocess; ``check`` raises with its output on a non-zero exit."""
    e = dict(os.environ, PYTHONPATH=os.pathsep.join([PLUGINS, os.environ.get("PYTHONPATH", "")]),
             NAS_PLUGINS="fake_task", COLUMNS="200")
    e.update(env or {})  # a test may load more plugins (NAS_PLUGINS=fake_task,...)
    res = subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True,
                         text=True, env=e, timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"nas {' '.join(args)} -> {res.returncode}\n{res.stdout}\n"
                             f"{res.stderr}")
    return res
