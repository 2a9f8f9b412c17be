"""A damaged journal never costs a finished trial (issue 16, section 1).

A crash while a record is written leaves a cut last line; a disk error leaves junk.
Every command reads every intact record and says what it skipped; resume, worker and
search move a broken end aside (never deleting it) before they write; a damaged record
in the middle costs only its own trial, and no command makes a readable study
unreadable.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
from pathlib import Path

import pytest
from optuna.distributions import FloatDistribution
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.study import StudyDirection
from optuna.trial import TrialState
from typer.testing import CliRunner

from cli.main import app
from nas import Study, open_storage
from nas.storage import JOURNAL

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))
import fake_task  # noqa: E402,F401  (registers the "fake" task: a score per architecture)

runner = CliRunner()


def nas(*args: str):
    return runner.invoke(app, [str(a) for a in args], terminal_width=200,
                         env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def original(tmp_path_factory) -> Path:
    """A finished 3-trial run folder (kept intact: each test damages a copy)."""
    run = tmp_path_factory.mktemp("orig") / "run"
    res = nas("search", "--space", "mlp", "--task", "fake", "--trials", 3, "--budget", "5steps",
              "--run-dir", run)
    assert res.exit_code == 0, res.output
    return run


# ---------------------------------------------------------------------------- helpers
def lines(path: Path) -> list[tuple[int, bytes]]:
    """(offset, line) for every line of a file, newline included."""
    out, pos = [], 0
    for line in path.read_bytes().splitlines(keepends=True):
        out.append((pos, line))
        pos += len(line)
    return out


def trial_lines(path: Path) -> dict[int, list[int]]:
    """Trial id -> the indices of the lines that write it (its creation included)."""
    owner: dict[int, list[int]] = {}
    created = 0
    for k, (_, line) in enumerate(lines(path)):
        log = json.loads(line)
        if log["op_code"] == 4:
            owner[created] = [k]
            created += 1
        elif "trial_id" in log:
            owner[log["trial_id"]].append(k)
    return owner


def completed(status_json: str) -> dict[int, tuple]:
    """number -> (values, decisions) of the COMPLETE trials in `nas status --format json`."""
    return {t["number"]: (t["values"], t["decisions"]) for t in json.loads(status_json)
            if t["state"] == "COMPLETE"}


def intact_finished(original: Path, lo: int, hi: int) -> dict[int, tuple]:
    """The original's finished trials none of whose records lie in bytes [lo, hi)."""
    spans = lines(original / JOURNAL)
    hit = {k for k, (o, line) in enumerate(spans) if o < hi and o + len(line) > lo}
    owners = trial_lines(original / JOURNAL)
    res = nas("status", original, "--format", "json")
    return {n: t for n, t in completed(res.stdout).items() if not hit & set(owners[n])}


def add_trial(st: Study, note: str) -> int:
    """Write a new RUNNING trial with a user attribute (two records); its trial id."""
    tid = st.storage.create_new_trial(st._study_id)
    st.storage.set_trial_user_attr(tid, "note", note)
    return tid


# ---------------------------------------------------------------------------- damages
def truncate(n: int):
    """Cut the last ``n`` bytes, or a few more if that would cut at a newline (whole
    records gone, or a whole record left missing only its newline: no damage to see)."""
    def damage(journal: Path) -> tuple[int, int, bytes]:
        data = journal.read_bytes()
        n_ = n
        while b"\n" in data[len(data) - n_ - 1:len(data) - n_ + 1]:
            n_ += 1
        journal.write_bytes(data[:-n_])
        lo = data.rfind(b"\n", 0, len(data) - n_) + 1  # start of the line now cut short
        return lo, len(data), data[lo:len(data) - n_]
    return damage


def append_random(journal: Path) -> tuple[int, int, bytes]:
    rng = random.Random(16)
    junk = bytes(rng.randrange(256) for _ in range(100)) + b"\n" + \
        bytes(rng.randrange(256) for _ in range(99))  # a junk line and an unfinished one
    size = journal.stat().st_size
    with journal.open("ab") as f:
        f.write(junk)
    return size, size + len(junk), junk


def garbage_line(which: int, keep: int = 0):
    """Replace the creation record of trial ``which`` by junk of the same length (keeping
    its first ``keep`` bytes: a bit-rotted record rather than an overwritten one)."""
    def damage(journal: Path) -> tuple[int, int, bytes]:
        k = trial_lines(journal)[which][0]
        offset, line = lines(journal)[k]
        bad = line[:keep] + b"\x00garbage\xff" * len(line)
        data = journal.read_bytes()
        journal.write_bytes(data[:offset] + bad[:len(line) - 1] + b"\n" +
                            data[offset + len(line):])
        return offset, offset + len(line), b""
    return damage


DAMAGES = {"truncate_10": truncate(10), "truncate_3000": truncate(3000),
           "random_bytes": append_random, "garbage_middle_line": garbage_line(1),
           "bit_rot_first_trial": garbage_line(0, keep=60)}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_status_resume_status_keeps_every_intact_finished_trial(original, tmp_path, damage):
    run = tmp_path / "run"
    shutil.copytree(original, run)
    journal = run / JOURNAL
    lo, hi, tail = DAMAGES[damage](journal)
    at_end = hi >= (original / JOURNAL).stat().st_size
    intact = intact_finished(original, lo, hi)
    assert intact, "the damage must leave some finished trial intact"

    res = nas("status", run, "--format", "json")
    assert res.exit_code == 0, res.output
    assert f"at byte {lo:,}" in res.stderr  # says what it skipped, where
    before = completed(res.stdout)
    assert {n: before.get(n) for n in intact} == intact

    res = nas("resume", run, "--trials", 5)
    assert res.exit_code == 0, res.output

    res = nas("status", run, "--format", "json")
    assert res.exit_code == 0, res.output
    after = completed(res.stdout)
    assert {n: after.get(n) for n in intact} == intact
    assert len(after) >= 5 - (3 - len(intact))  # the resumed search ran its trials
    aside = sorted(run.glob(f"{JOURNAL}.corrupt-*"))
    if at_end:  # moved aside, byte for byte; what is left is a journal optuna reads
        assert [p.read_bytes() for p in aside] == [tail]
        assert "warning" not in res.stderr
        JournalStorage(JournalFileBackend(str(journal))).get_all_studies()
    else:  # a damaged middle stays, skipped and reported at every read
        assert aside == []
        assert f"at byte {lo:,}" in res.stderr and "trial" in res.stderr


def test_a_last_record_missing_only_its_newline_is_kept(original, tmp_path):
    """Cut one byte: the last record is whole but unfinished. Readers wait for its end
    (a writer may be at work); a writer completes it instead of moving it aside."""
    run = tmp_path / "run"
    shutil.copytree(original, run)
    data = (run / JOURNAL).read_bytes()
    (run / JOURNAL).write_bytes(data[:-1])  # the last newline
    res = nas("status", run, "--format", "json")
    assert res.exit_code == 0 and "unfinished record" in res.stderr, res.output
    assert nas("resume", run, "--trials", 4).exit_code == 0
    res = nas("status", run, "--format", "json")
    want = completed(nas("status", original, "--format", "json").stdout)
    after = completed(res.stdout)
    assert {n: after.get(n) for n in want} == want and len(after) == 4
    assert list(run.glob(f"{JOURNAL}.corrupt-*")) == [] and "warning" not in res.stderr


def test_storage_pickles_after_reading_damage(original, tmp_path):
    import pickle

    run = tmp_path / "run"
    shutil.copytree(original, run)
    with (run / JOURNAL).open("ab") as f:
        f.write(b"junk\n")
    storage = pickle.loads(pickle.dumps(open_storage(None, run, create=False)))
    assert len(Study.load(storage).trials()) == 3


def test_search_on_the_run_folder_moves_a_broken_end_aside_too(original, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(original, run)
    truncate(10)(run / JOURNAL)
    res = nas("search", "--space", "mlp", "--task", "fake", "--trials", 4, "--budget", "5steps",
              "--run-dir", run)
    assert res.exit_code == 0, res.output
    assert "moved its broken end" in res.stderr
    assert len(list(run.glob(f"{JOURNAL}.corrupt-*"))) == 1


@pytest.mark.parametrize("damage", ["truncate_10", "garbage_middle_line"])
def test_a_worker_joins_a_damaged_run(original, tmp_path, damage, monkeypatch):
    import torch

    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)  # keep the tests' one
    run = tmp_path / "run"
    shutil.copytree(original, run)
    lo, hi, _ = DAMAGES[damage](run / JOURNAL)
    intact = intact_finished(original, lo, hi)
    res = nas("worker", "--storage", run / JOURNAL, "--trials", 1)
    assert res.exit_code == 0, res.output
    assert ("moved its broken end" if damage == "truncate_10" else f"at byte {lo:,}") \
        in res.stderr
    after = completed(nas("status", run, "--format", "json").stdout)
    assert {n: after.get(n) for n in intact} == intact


@pytest.mark.parametrize("how", ["junk", "cut"])
def test_every_damaged_line_of_a_run_costs_only_its_own_trial(original, tmp_path, how):
    """Each line of a real run's journal in turn: the study is read, ids stay aligned,
    every trial not written by that line is exactly as before."""
    src = original / JOURNAL
    _check_every_line(src, tmp_path, how)


@pytest.mark.parametrize("how", ["junk", "cut"])
def test_every_damaged_line_of_interleaved_workers_costs_only_its_own_trial(tmp_path, how):
    """Records of three trials written in turns (as workers do): a lost creation shifts
    no id, whether the records after it are told by the same worker or not."""
    src = tmp_path / "interleaved.journal"
    st = JournalStorage(JournalFileBackend(str(src)))
    sid = st.create_new_study([StudyDirection.MAXIMIZE], "search")
    st.set_study_user_attr(sid, "objectives", [["val_acc", "max"]])
    a, b = st.create_new_trial(sid), st.create_new_trial(sid)
    st.set_trial_user_attr(a, "worker", 0)
    st.set_trial_param(b, "lr", 0.5, FloatDistribution(0, 1))
    st.set_trial_state_values(a, TrialState.COMPLETE, [0.1])
    c = st.create_new_trial(sid)
    st.set_trial_user_attr(b, "worker", 1)
    st.set_trial_intermediate_value(c, 1, 0.25)
    st.set_trial_state_values(b, TrialState.COMPLETE, [0.2])
    st.set_trial_state_values(c, TrialState.COMPLETE, [0.3])
    _check_every_line(src, tmp_path, how)


def _check_every_line(src: Path, tmp_path: Path, how: str) -> None:
    before = Study.load(open_storage(src, create=False)).trials()
    owners = trial_lines(src)
    for k, (offset, line) in enumerate(lines(src)):
        bad = b"#" * (len(line) - 1) if how == "junk" else line[:60]
        journal = tmp_path / f"{how}_{k}.journal"
        data = src.read_bytes()
        journal.write_bytes(data[:offset] + bad + b"\n" + data[offset + len(line):])
        storage = open_storage(journal, create=False)
        after = Study.load(storage).trials()
        where = f"line {k} ({how}): {line[:40]!r}"
        assert len(after) == len(before), where
        for old, new in zip(before, after):
            if k in owners.get(old.trial_id, []):
                if k == owners[old.trial_id][0]:  # its creation: a failed stand-in
                    assert new.state == "FAIL" and new.attrs.get("damaged"), where
                continue
            assert (new.number, new.state, new.values, new.decisions, new.attrs) == \
                (old.number, old.state, old.values, old.decisions, old.attrs), where
        [hurt] = storage.damage()
        assert (hurt.offset, hurt.length) == (offset, len(bad) + 1), where


def test_records_after_a_damaged_middle_are_still_written_and_read(original, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(original, run)
    offset, _, _ = garbage_line(1)(run / JOURNAL)
    add_trial(Study.load(open_storage(None, run)), "written after")  # a writer
    again = Study.load(open_storage(None, run, create=False))
    assert [r.state for r in again.trials()] == ["COMPLETE", "FAIL", "COMPLETE", "RUNNING"]
    assert again.trial(3).attrs["note"] == "written after"
    assert [d.offset for d in again.storage.damage()] == [offset]


def test_a_writer_never_appends_after_an_unfinished_line(original, tmp_path):
    """A worker that died mid-write left half a record while another one runs: the live
    one moves the half aside instead of gluing its own record onto it."""
    run = tmp_path / "run"
    shutil.copytree(original, run)
    st = Study.load(open_storage(None, run))  # opened while the journal was whole
    with (run / JOURNAL).open("ab") as f:
        f.write(b'{"op_code":8,"worker_id":"dead","trial_id":0,"user_at')
    tid = add_trial(st, "after a dead writer")
    plain = JournalStorage(JournalFileBackend(str(run / JOURNAL)))  # optuna reads it all
    assert plain.get_trial(tid).user_attrs["note"] == "after a dead writer"
    [aside] = run.glob(f"{JOURNAL}.corrupt-*")
    assert aside.read_bytes().startswith(b'{"op_code":8,"worker_id":"dead"')


def test_a_reader_follows_when_another_process_moves_the_broken_end_aside(original, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(original, run)
    with (run / JOURNAL).open("ab") as f:
        f.write(b"junk\n" * 3)
    reader = Study.load(open_storage(None, run, create=False))  # read the junk lines
    assert reader.storage.damage()[0].at_end
    add_trial(Study.load(open_storage(None, run)), "new")  # moves them aside, then writes
    assert [r.state for r in reader.trials()] == ["COMPLETE"] * 3 + ["RUNNING"]
    assert reader.trial(3).attrs["note"] == "new"


def test_reading_commands_change_nothing_in_a_damaged_run(original, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(original, run)
    garbage_line(1)(run / JOURNAL)
    truncate(10)(run / JOURNAL)
    files = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    for args in (["status", run], ["show", run], ["export", run, "--out", tmp_path / "ex"],
                 ["plot", run, "--out", tmp_path / "p.png"]):
        res = nas(*args)
        assert res.exit_code == 0, (args, res.output)
        assert res.stderr.count("warning:") == 2, (args, res.stderr)  # one per place
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == files


def test_a_file_with_no_record_is_not_taken_for_a_journal(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a journal\n")
    for args in (["status", "--storage", notes], ["worker", "--storage", notes]):
        res = nas(*args)
        assert res.exit_code == 2 and "not an optuna journal" in res.stderr, res.output
    run = tmp_path / "run"
    run.mkdir()
    (run / JOURNAL).write_bytes(b"\x00\xff junk\n" * 4)
    res = nas("resume", run)
    assert res.exit_code == 2 and "not an optuna journal" in res.stderr, res.output
    assert notes.read_text() == "not a journal\n"
    assert (run / JOURNAL).read_bytes() == b"\x00\xff junk\n" * 4
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["notes.txt", "run", JOURNAL]


def test_resume_refuses_a_study_whose_settings_record_was_lost(original, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(original, run)
    journal = run / JOURNAL
    k = next(k for k, (_, line) in enumerate(lines(journal)) if b'"config"' in line)
    data = journal.read_bytes()
    offset, line = lines(journal)[k]
    journal.write_bytes(data[:offset] + b"junk\n" + data[offset + len(line):])
    res = nas("resume", run)
    assert res.exit_code == 2 and "lost its stored settings" in res.stderr, res.output
    assert nas("status", run).exit_code == 0
