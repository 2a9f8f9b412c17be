"""Storage URLs are checked, and reading commands create nothing (issue 16, section 5).

An unknown scheme used to become a local journal file named after the URL (with the
password in the file name), and `nas status --storage missing/x.journal` created the
folder and an empty journal.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from nas.storage import StorageError, open_storage, storage_kind

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))
import fake_task  # noqa: E402,F401  (registers the "fake" task: a score per architecture)

runner = CliRunner()


def nas(*args: str):
    return runner.invoke(app, [str(a) for a in args], terminal_width=200)


def created(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("url", ["garbage://x", "file:///tmp/x.journal", "redis://u:pw@h/0"])
def test_an_unknown_scheme_is_a_usage_error_naming_the_accepted_forms(url, tmp_path,
                                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)
    for args in (["search", "--space", "mlp", "--task", "fake", "--trials", "1",
                  "--storage", url], ["status", "--storage", url],
                 ["worker", "--storage", url]):
        res = nas(*args)
        assert res.exit_code == 2, (args, res.output)
        err = " ".join(res.stderr.split())
        assert "unknown storage" in err and "sqlite:///" in err and "postgresql://" in err
        assert "journal://" in err and "Traceback" not in res.output
        assert "pw" not in res.output
    assert created(tmp_path) == []


def test_postgres_scheme_is_read_as_postgresql_never_as_a_file(tmp_path, monkeypatch):
    assert storage_kind("postgres://u:pw@db/nas") == ("rdb", "postgresql://u:pw@db/nas")
    assert storage_kind("postgres+psycopg://u:pw@db/nas") == \
        ("rdb", "postgresql+psycopg://u:pw@db/nas")
    monkeypatch.chdir(tmp_path)
    # port 1 on this host: no server (or no driver); either way a one-line error
    res = nas("status", "--storage", "postgres://u:secret@127.0.0.1:1/db")
    assert res.exit_code == 2, res.output
    assert "postgresql://u:***@127.0.0.1:1/db" in " ".join(res.stderr.split())
    assert "secret" not in res.output
    assert created(tmp_path) == []


def test_a_path_without_a_scheme_stays_a_journal_file():
    assert storage_kind("runs/a/study.journal") == ("journal", "runs/a/study.journal")
    assert storage_kind("journal://runs/a/study.journal") == ("journal", "runs/a/study.journal")
    assert storage_kind("sqlite:///nas.db") == ("rdb", "sqlite:///nas.db")
    assert storage_kind("mysql://u:pw@h/db")[0] == "rdb"


@pytest.mark.parametrize("storage", ["missing/x.journal", "journal://missing/x.journal",
                                     "sqlite:///missing/x.db", "sqlite:///x.db"])
def test_reading_commands_create_nothing(storage, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for args in (["status"], ["plot", "--out", "p.png"], ["show"], ["export", "--out", "e"],
                 ["worker"]):
        res = nas(*args, "--storage", storage)
        assert res.exit_code == 2, (args, res.output)
        assert "no journal file" in res.stderr or "no SQLite database file" in res.stderr
        assert "Traceback" not in res.output
        assert created(tmp_path) == [], args


def test_a_missing_run_folder_is_not_created_by_reading_it(tmp_path):
    with pytest.raises(StorageError, match="no journal file"):
        open_storage(None, tmp_path / "run", create=False)
    assert not (tmp_path / "run").exists()
    res = nas("status", tmp_path / "run")
    assert res.exit_code == 2 and not (tmp_path / "run").exists()


def test_writers_still_create_their_journal(tmp_path):
    res = nas("search", "--space", "mlp", "--task", "fake", "--trials", "1", "--storage",
              tmp_path / "new" / "x.journal")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "new" / "x.journal").is_file()
    res = nas("status", "--storage", f"journal://{tmp_path / 'new' / 'x.journal'}")
    assert res.exit_code == 0, res.output
