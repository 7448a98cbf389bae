"""One SIGKILL per stage, placed by construction (killpoint.py: the process kills itself at a
named point in the middle of a write, so no seed or timing decides where it lands), then a
re-run: the stage completes with the same result as an uninterrupted run, and the run
directory holds no temporary file, journal or lock afterwards.

- caption: killed in the middle of the last line of its third batch of captions;
- teach: killed after its 50th stored answer (of 150);
- augment: killed halfway through its teacher answers (after a store commit);
- train: killed halfway through the `trainer_state.json` of its second checkpoint (a torn
  checkpoint: weights and optimizer written, state cut off); resumed from the first;
- evaluate: killed with metrics.json written to its temporary file, not yet renamed.

The seeded random kill points of tests/reliability/test_interrupted_stages.py (30 of them)
run with `-m slow`."""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import sqlite3
from pathlib import Path

import pytest
from cotpd.student.trainer import checkpoint_is_complete
from harness import (
    DEMO_CONFIG,
    DEMO_SAMPLES,
    ServerProcess,
    assert_sqlite_intact,
    caption_args,
    leftovers,
    run_cotpd,
    run_killed_at,
    teach_args,
    torn_jsonl_lines,
)
from safetensors.torch import load_file

KILLED = -signal.SIGKILL


def finish(args: list[str]) -> None:
    done = run_cotpd(*args)
    assert done.returncode == 0, done.stderr[-3000:]


def killed(point: str, at: int, args: list[str]) -> None:
    done = run_killed_at(point, at, *args)
    assert done.returncode == KILLED, f"{point} {at} not reached: {done.stderr[-3000:]}"


def temporaries(run: Path) -> list[str]:
    return [name for name in leftovers(run) if name.endswith(".tmp")]


def store_content(store: Path) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(store)) as db:
        return db.execute("SELECT teacher, prompt_id, prompt_hash, sample_key, text, error "
                          "FROM answers ORDER BY 1, 2, 3, 4").fetchall()


# -- caption ----------------------------------------------------------------------------


def test_caption_killed_mid_line_resumes_to_the_same_bytes(tmp_path: Path,
                                                           tiny_blip2: Path) -> None:
    def args(out: Path) -> list[str]:
        return caption_args(out, tiny_blip2, batch_size=16)

    finish(args(tmp_path / "ref"))
    run = tmp_path / "killed" / "demo_mner"
    output = run / "captions" / "captions.jsonl"
    killed("caption-batch", 3, args(tmp_path / "killed"))
    data = output.read_bytes()
    assert data.count(b"\n") == 47 and not data.endswith(b"\n")  # 2 batches, 15 lines and
    # half of the third batch's last
    finish(args(tmp_path / "killed"))
    assert output.read_bytes() == (tmp_path / "ref" / output.relative_to(tmp_path / "killed")
                                   ).read_bytes()
    assert output.read_bytes().count(b"\n") == DEMO_SAMPLES
    summary = json.loads((run / "captions" / "summary.json").read_text())
    assert summary["recovered_partial_line"] and summary["skipped_done"] == 47
    assert leftovers(run) == [] and torn_jsonl_lines(run) == []


# -- teach and augment ------------------------------------------------------------------


def test_teach_killed_in_the_store_resumes_to_the_same_bytes(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "requests.jsonl") as server:
        def args(out: Path) -> list[str]:
            return teach_args(out, server.url, "--set", "teacher.openai.concurrency=4")

        finish(args(tmp_path / "ref"))
        run = tmp_path / "killed" / "demo_mner"
        store = run / "teacher" / "store.sqlite"
        killed("store-row", 50, args(tmp_path / "killed"))
        assert_sqlite_intact(store)
        assert 50 <= len(store_content(store)) < DEMO_SAMPLES
        assert not (run / "teacher" / "knowledge.jsonl").exists()
        finish(args(tmp_path / "killed"))
    ref = tmp_path / "ref" / "demo_mner"
    name = Path("teacher") / "knowledge.jsonl"
    assert (run / name).read_bytes() == (ref / name).read_bytes()
    content = store_content(store)
    assert content == store_content(ref / "teacher" / "store.sqlite")
    assert len(content) == DEMO_SAMPLES
    assert leftovers(run) == [] and torn_jsonl_lines(run) == []


def test_augment_killed_in_the_store_resumes_to_the_same_bytes(
        tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "requests.jsonl") as server:
        def args(out: Path) -> list[str]:
            teach = teach_args(out, server.url, "--set", "teacher.openai.concurrency=2")
            return ["augment", *teach[1:], "--set", "augment.times.style=1",
                    "--set", "augment.times.entity=1", "--set", "augment.times.image=1",
                    "--set", "augment.sources=20"]

        finish(args(tmp_path / "ref"))
        ref = tmp_path / "ref" / "demo_mner"
        total = len(store_content(ref / "teacher" / "store.sqlite"))
        run = tmp_path / "killed" / "demo_mner"
        killed("store-row", total // 2, args(tmp_path / "killed"))
        assert_sqlite_intact(run / "teacher" / "store.sqlite")
        assert not (run / "augment" / "train.jsonl").exists()
        finish(args(tmp_path / "killed"))
        assert leftovers(run) == [] and torn_jsonl_lines(run) == []
    name = Path("augment") / "train.jsonl"
    assert (run / name).read_bytes() == (ref / name).read_bytes()
    assert store_content(run / "teacher" / "store.sqlite") == \
        store_content(ref / "teacher" / "store.sqlite")


# -- train and evaluate -----------------------------------------------------------------

STEPS, EVERY = 6, 2


@pytest.fixture(scope="module")
def train_args(tiny_encoder: Path, demo_context: tuple[Path, Path]):
    _, knowledge = demo_context

    def args(out: Path, command: str = "train") -> list[str]:
        return [command, str(DEMO_CONFIG), "--set", f"run.output_dir={out}",
                "--set", f"student.encoder={tiny_encoder}",
                "--set", f"student.context.knowledge=[{knowledge}]",
                "--set", "student.views.context_order=[knowledge]",
                "--set", f"student.train.max_steps={STEPS}",
                "--set", f"student.train.eval_steps={EVERY}",
                "--set", "student.train.batch_size=8",
                "--set", "student.train.early_stopping_patience=null"]

    return args


@pytest.fixture(scope="module")
def trained(train_args, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted training and evaluation (`cotpd run --only train,evaluate`): the
    reference of the train and evaluate tests, and the input of evaluate."""
    out = tmp_path_factory.mktemp("trained")
    finish(["run", *train_args(out)[1:], "--only", "train,evaluate"])
    return out


def train_outcome(run: Path) -> tuple[dict, dict]:
    report = json.loads((run / "student" / "train_report.json").read_text())
    dev = {k: v for k, v in report["dev"].items() if "runtime" not in k and "per_second" not in k}
    weights = load_file(str(run / "student" / "model" / "model.safetensors"))
    return ({"steps": report["steps"], "best": Path(report["best_checkpoint"]).name, **dev},
            weights)


def test_train_killed_inside_a_checkpoint_write_resumes_from_the_last_whole_one(
        tmp_path: Path, train_args, trained: Path) -> None:
    run = tmp_path / "demo_mner"
    folder = run / "student" / "checkpoints"
    killed("trainer-state", 2, train_args(tmp_path))
    torn = folder / f"checkpoint-{2 * EVERY}"
    assert (torn / "model.safetensors").is_file() and (torn / "trainer_state.json").is_file()
    assert not checkpoint_is_complete(torn, 2 * EVERY)  # torn, by construction
    assert checkpoint_is_complete(folder / f"checkpoint-{EVERY}", EVERY)
    finish(train_args(tmp_path))
    got, got_weights = train_outcome(run)
    want, want_weights = train_outcome(trained / "demo_mner")
    assert got == want and got["steps"] == STEPS
    assert got_weights.keys() == want_weights.keys()
    for name, tensor in want_weights.items():
        assert got_weights[name].equal(tensor), name
    assert leftovers(run) == [] and torn_jsonl_lines(run) == []


def test_evaluate_killed_in_the_rename_resumes_to_the_same_metrics(
        tmp_path: Path, train_args, trained: Path) -> None:
    ref, run = trained / "demo_mner", tmp_path / "demo_mner"
    shutil.copytree(ref, run)
    for done in ("metrics.json", "report.md", "eval"):  # what evaluate writes
        shutil.rmtree(run / done) if (run / done).is_dir() else (run / done).unlink()
    killed("rename:metrics.json", 1, train_args(tmp_path, "evaluate"))
    assert not (run / "metrics.json").exists() and len(temporaries(run)) == 1
    finish(train_args(tmp_path, "evaluate"))
    got, want = (json.loads((r / "metrics.json").read_text()) for r in (run, ref))
    assert (got["splits"], got["headline"]) == (want["splits"], want["headline"])
    for name in ("dev.conll", "test.conll"):
        assert (run / "eval" / name).read_bytes() == (ref / "eval" / name).read_bytes()
    assert leftovers(run) == [] and torn_jsonl_lines(run) == []
