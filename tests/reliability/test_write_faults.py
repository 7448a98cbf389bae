"""Real write faults on the three things a run cannot afford to lose: the knowledge store, a
training checkpoint and the knowledge file. A full disk is a file size limit on the `cotpd`
process (RLIMIT_FSIZE: a write past it fails with EFBIG, as one on a full disk fails with
ENOSPC); a read-only folder is a folder without write permission (as root, the process
gives up CAP_DAC_OVERRIDE first, so the permission binds it too). Each fault ends the
command with exit 2 and one stderr line, `error: ...` naming the file (progress bars off,
`--quiet`), and leaves everything written before it as it was: the store's earlier answers,
the earlier checkpoint and trained student, the earlier knowledge file, and no temporary.
A full disk under the knowledge file and a read-only checkpoint folder run with `-m slow`."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from cotpd.student.trainer import checkpoint_is_complete
from harness import (
    DEMO_CONFIG,
    DEMO_SAMPLES,
    ServerProcess,
    assert_sqlite_intact,
    leftovers,
    run_cotpd,
    run_cotpd_faulty,
    teach_args,
)

QUIET = {"TQDM_DISABLE": "1"}  # no progress bars: stderr holds the command's own lines


@pytest.fixture(autouse=True)
def no_progress_bars(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in QUIET.items():
        monkeypatch.setenv(name, value)


def finish(args: list[str]) -> None:
    done = run_cotpd(*args)
    assert done.returncode == 0, done.stderr[-3000:]


def fails_with_one_line(args: list[str], pattern: str, **fault: int) -> None:
    done = run_cotpd_faulty("--quiet", *args, **fault)
    assert (done.returncode, done.stderr.splitlines()) == (2, [done.stderr.strip()]), \
        done.stderr[-3000:]
    assert re.fullmatch(pattern, done.stderr.strip()), done.stderr


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    os.chmod(folder, 0o555)
    try:
        yield
    finally:
        os.chmod(folder, 0o755)


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def answers(store: Path) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(store)) as db:
        return db.execute("SELECT prompt_id, sample_key, text, error FROM answers "
                          "ORDER BY 1, 2").fetchall()


# -- the knowledge store ----------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("server") / "requests.jsonl") as running:
        yield running


@pytest.fixture(scope="module")
def noun_taught(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run whose store, outside the run directory (so the teacher folder holds only the
    knowledge file and the summary), holds the noun answers. Each test works on a copy."""
    out = tmp_path_factory.mktemp("noun_taught")
    finish(teach_args(out, server.url, "--set", f"teacher.store={out / 'store' / 'store.sqlite'}"))
    return out


def copy_of(taught: Path, tmp_path: Path, server: ServerProcess,
            prompts: str) -> tuple[list[str], Path, Path]:
    """A copy of that run and store; the args of a teach of `prompts` into them, the
    store and the run's teacher folder."""
    for part in ("demo_mner", "store"):
        shutil.copytree(taught / part, tmp_path / part)
    store = tmp_path / "store" / "store.sqlite"
    args = teach_args(tmp_path, server.url, "--set", f"teacher.store={store}", prompts=prompts)
    return args, store, tmp_path / "demo_mner" / "teacher"


def test_a_full_disk_under_the_store_is_one_line_and_keeps_every_stored_answer(
        tmp_path: Path, server: ServerProcess, noun_taught: Path) -> None:
    args, store, _ = copy_of(noun_taught, tmp_path, server, "[noun,sentence]")
    before = answers(store)
    assert len(before) == DEMO_SAMPLES and store.stat().st_size < 56_000
    # the sentence answers grow the store's log past 56,000 bytes
    fails_with_one_line(args, rf"error: {re.escape(str(store))}: could not write the "
                              r"knowledge store \(.+\); free space or allow writing there, "
                              r"then run again: the answers stored before are kept",
                        file_size_limit=56_000)
    assert_sqlite_intact(store)
    after = answers(store)
    assert [row for row in after if row[0] == "noun"] == before
    assert len(after) < 2 * DEMO_SAMPLES  # the fault struck before the sentence prompt ended


def test_a_read_only_store_folder_is_one_line_and_keeps_the_store(
        tmp_path: Path, server: ServerProcess, noun_taught: Path) -> None:
    args, store, _ = copy_of(noun_taught, tmp_path, server, "[noun,sentence]")
    before, asked = digests(store.parent), len(server.requests())
    with read_only(store.parent):
        lock = re.escape(str(store.with_name("store.sqlite.lock")))
        fails_with_one_line(args, rf"error: cannot lock the knowledge store "
                                  rf"{re.escape(str(store))}: permission denied writing its "
                                  rf"lock file {lock} \(the folder must be writable\)")
    assert len(server.requests()) == asked  # nothing asked that could not be kept
    assert digests(store.parent) == before


# -- the knowledge file -----------------------------------------------------------------


def test_a_read_only_knowledge_folder_is_one_line_and_keeps_the_old_file(
        tmp_path: Path, server: ServerProcess, noun_taught: Path) -> None:
    args, _, folder = copy_of(noun_taught, tmp_path, server, "[noun]")  # all stored
    before = digests(folder)
    with read_only(folder):
        fails_with_one_line(args, rf"error: Permission denied: "
                                  rf"{re.escape(str(folder / 'knowledge.jsonl'))}")
    assert digests(folder) == before and leftovers(folder) == []


@pytest.mark.slow
def test_a_full_disk_under_the_knowledge_file_is_one_line_and_keeps_the_old_one(
        tmp_path: Path, server: ServerProcess) -> None:
    """With answers long enough that the knowledge file is larger than the store's 32 KiB
    shared-memory file (the limit must let the store open)."""
    with ServerProcess(tmp_path / "hostile.jsonl", default="hostile") as hostile:
        finish(teach_args(tmp_path / "taught", hostile.url, "--set",
                          f"teacher.store={tmp_path / 'taught' / 'store' / 'store.sqlite'}",
                          prompts="[noun,sentence]"))
    args, _, folder = copy_of(tmp_path / "taught", tmp_path / "copy", server, "[noun,sentence]")
    knowledge = folder / "knowledge.jsonl"
    before = digests(folder)
    assert knowledge.stat().st_size > 40_000
    fails_with_one_line(args, rf"error: File too large: {re.escape(str(knowledge))}",
                        file_size_limit=40_000)
    assert digests(folder) == before and leftovers(folder) == []


# -- a checkpoint -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def train_args(tiny_bare_encoder: Path, demo_context: tuple[Path, Path]):
    _, knowledge = demo_context

    def args(out: Path, steps: int) -> list[str]:
        return ["train", str(DEMO_CONFIG), "--set", f"run.output_dir={out}",
                "--set", f"student.encoder={tiny_bare_encoder}",
                "--set", f"student.context.knowledge=[{knowledge}]",
                "--set", "student.views.context_order=[knowledge]",
                "--set", f"student.train.max_steps={steps}",
                "--set", "student.train.eval_steps=2", "--set", "student.train.batch_size=8",
                "--set", "student.train.early_stopping_patience=null"]

    return args


@pytest.fixture(scope="module")
def two_steps(train_args, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two steps trained: checkpoint-2 and the student saved."""
    out = tmp_path_factory.mktemp("two_steps")
    finish(train_args(out, 2))
    assert checkpoint_is_complete(out / "demo_mner/student/checkpoints/checkpoint-2", 2)
    return out / "demo_mner"


@pytest.fixture
def trained(tmp_path: Path, train_args, two_steps: Path) -> tuple[list[str], Path]:
    """A copy of that run, and the args of a training to step 4: it resumes from
    checkpoint-2 and writes checkpoint-4."""
    shutil.copytree(two_steps, tmp_path / "demo_mner")
    return train_args(tmp_path, 4), tmp_path / "demo_mner" / "student"


CHECKPOINT_ERROR = (r"error: {folder}: could not write this checkpoint \(.+\); free space or "
                    r"allow writing there, then run again: training resumes from the last "
                    r"whole checkpoint")


def test_a_full_disk_under_a_checkpoint_is_one_line_and_keeps_the_last_one(trained) -> None:
    args, student = trained
    before = digests(student)
    weights = (student / "checkpoints" / "checkpoint-2" / "model.safetensors").stat().st_size
    optimizer = (student / "checkpoints" / "checkpoint-2" / "optimizer.pt").stat().st_size
    assert weights < 6_000_000 < optimizer  # the weights fit under the limit, the rest not
    folder = student / "checkpoints" / "checkpoint-4"
    fails_with_one_line(args, CHECKPOINT_ERROR.format(folder=re.escape(str(folder))),
                        file_size_limit=6_000_000)
    after = digests(student)
    assert {k: v for k, v in after.items() if k in before} == before
    assert not checkpoint_is_complete(folder, 4)  # torn: never resumed from


@pytest.mark.slow
def test_a_read_only_checkpoint_folder_is_one_line_and_keeps_the_last_one(trained) -> None:
    args, student = trained
    before = digests(student)
    folder = student / "checkpoints"
    with read_only(folder):
        fails_with_one_line(args, CHECKPOINT_ERROR.format(
            folder=re.escape(str(folder / "checkpoint-4"))))
    after = digests(student)
    assert {k: v for k, v in after.items() if k in before} == before
    assert not (folder / "checkpoint-4").exists()


def test_an_atomic_write_gets_the_permissions_of_an_ordinary_write(tmp_path: Path) -> None:
    """A file written atomically gets the permissions an ordinary write would (the umask's),
    not those of its temporary file (0600): a run's outputs stay readable by the group."""
    from cotpd.corpus.files import atomic_write_text

    mask = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "shared.txt", "readable by the group\n")
        os.umask(0o027)
        atomic_write_text(tmp_path / "private.txt", "not by others\n")
    finally:
        os.umask(mask)
    assert (tmp_path / "shared.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "private.txt").stat().st_mode & 0o777 == 0o640
