"""`nas search --from` defaults: chained growth by the growing edits, and (without
--budget/--trials) the measured setting of many short children; given flags, a config
file's values and --timeout win. Read back from the stored run settings."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli._from import from_defaults
from cli.main import app
from nas import Study, open_storage
from nas.graphspace import FROM_DEFAULTS
from nas.graphspace._seed import FROM_BUDGET, FROM_TRIALS

GROW = str(Path(__file__).resolve().parents[2] / "examples" / "grow.py")


def test_from_defaults_fill_only_what_was_not_given():
    settings = {"trials": 20, "budget": None, "timeout": None}
    from_defaults(settings, {}, "m.py:build")
    assert settings == {"trials": FROM_TRIALS, "budget": FROM_BUDGET, "timeout": None}
    settings = {"trials": 7, "budget": "50steps", "timeout": None}
    from_defaults(settings, {"trials": 7, "budget": "50steps"}, "m.py:build")
    assert settings == {"trials": 7, "budget": "50steps", "timeout": None}
    settings = {"trials": None, "budget": None, "timeout": 60.0}  # bounded by time alone
    from_defaults(settings, {"timeout": 60.0}, "m.py:build")
    assert settings["trials"] is None and settings["budget"] == FROM_BUDGET
    settings = {"trials": 20, "budget": None, "timeout": None}
    from_defaults(settings, {}, None)  # not a search from a model: untouched
    assert settings == {"trials": 20, "budget": None, "timeout": None}


def test_a_search_from_a_file_chains_by_default(tmp_path):
    run = tmp_path / "run"
    out = CliRunner().invoke(app, ["search", "--from", f"{GROW}:build", "--task", "fake",
                                   "--trials", "4", "--run-dir", str(run)])
    assert out.exit_code == 0, out.output
    st = Study.load(open_storage(None, run))
    assert str(st.config["budget"]) == FROM_BUDGET  # --trials given, the budget defaulted
    kinds = set()
    for t in st.completed():
        kinds |= {e.split()[0] for e in t.attrs["lineage"]["edits"]}
    assert kinds <= set(FROM_DEFAULTS["edits"])
    assert json.dumps(st.config.get("space_config") or {}) == "{}"  # defaults not stored
