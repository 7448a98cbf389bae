"""SIGKILL at seeded random points of caption, teach, augment and train, then re-run: the final
outputs equal an uninterrupted run's (byte-equal for the text stages; the same step, dev
metrics and weights for training resumed from its last whole checkpoint), and no kill leaves a
torn JSONL line, a corrupt SQLite file or a torn checkpoint taken for a good one.

All 30 kills (teach 8, caption 8, train 8, augment 6) run with `-m slow`; COTPD_KILL_SEED
moves the points. The default suite kills each stage once at a point placed by construction
(tests/reliability/test_killed_stages.py) and checks the torn-checkpoint rule here on a
checkpoint torn by hand."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
from cotpd.corpus.errors import CotpdError
from cotpd.student.trainer import (
    TRAINING_RECORD,
    checkpoint_is_complete,
    claim_checkpoints,
    last_complete_checkpoint,
)
from harness import (
    DEMO_CONFIG,
    DEMO_SAMPLES,
    ServerProcess,
    assert_sqlite_intact,
    caption_args,
    teach_args,
    torn_jsonl_lines,
)
from killing import KillLog, finish, kill_when, rng_for
from safetensors.torch import load_file

KILLS = {"teach": (0, 8), "caption": (0, 8), "train": (0, 8), "augment": (0, 6)}
# (default run, slow run)
LOGS: list[KillLog] = []


def kills(stage: str, slow: bool) -> int:
    return KILLS[stage][1 if slow else 0]


def modes(stage: str) -> list:
    default = [pytest.param(False, id="default")] if KILLS[stage][0] else []
    return default + [pytest.param(True, id="slow", marks=pytest.mark.slow)]


@pytest.fixture(scope="module", autouse=True)
def report_kills():
    yield
    for log in LOGS:  # shown with -s: where each kill landed
        print(f"\n{log.stage}: {len(log.landed)} kills landed, {log.missed} missed: "
              f"{'; '.join(log.landed)}")


# -- teach ------------------------------------------------------------------------------


def store_content(run: Path) -> list[tuple]:
    with sqlite3.connect(run / "teacher" / "store.sqlite") as db:
        return db.execute("SELECT teacher, prompt_id, prompt_hash, sample_key, text, error "
                          "FROM answers ORDER BY 1, 2, 3, 4").fetchall()


def count_rows(store: Path) -> int:
    if not store.is_file():
        return 0
    try:
        with sqlite3.connect(store, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
    except sqlite3.OperationalError:  # the table is not created yet
        return 0


def kill_at_store_rows(stage: str, command: list[str], run: Path, total: int,
                       slow: bool) -> None:
    """SIGKILL `command` at seeded counts of store rows, checking after each kill that the
    store and the JSONL files are whole, then let it finish."""
    store = run / "teacher" / "store.sqlite"
    rng, log = rng_for(stage), KillLog(stage)
    for target in sorted(rng.sample(range(1, total), kills(stage, slow))):
        if kill_when(command, lambda t=target: count_rows(store) >= t, rng.uniform(0, 0.3)):
            log.landed.append(f"{count_rows(store)}/{total} rows")
        else:
            log.missed += 1
        assert_sqlite_intact(store)
        assert torn_jsonl_lines(run) == []
    finish(command)
    LOGS.append(log)
    assert len(log.landed) >= max(1, kills(stage, slow) - 1)


@pytest.mark.parametrize("slow", modes("teach"))
def test_killed_teach_resumes_to_the_same_bytes(slow: bool, tmp_path: Path) -> None:
    total = 2 * DEMO_SAMPLES  # noun + sentence
    with ServerProcess(tmp_path / "requests.jsonl", default="slow:0.03") as server:
        def args(out: Path) -> list[str]:
            return teach_args(out, server.url, "--set", "teacher.openai.concurrency=4",
                              prompts="[noun,sentence]")

        finish(args(tmp_path / "ref"))
        run = tmp_path / "killed" / "demo_mner"
        kill_at_store_rows("teach", args(tmp_path / "killed"), run, total, slow)
    ref = tmp_path / "ref" / "demo_mner"
    for name in ("knowledge.jsonl",):
        assert (run / "teacher" / name).read_bytes() == (ref / "teacher" / name).read_bytes()
    assert store_content(run) == store_content(ref)
    assert len(store_content(run)) == total


# -- augment ----------------------------------------------------------------------------


@pytest.mark.parametrize("slow", modes("augment"))
def test_killed_augment_resumes_to_the_same_bytes(slow: bool, tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "requests.jsonl", default="slow:0.03") as server:
        def args(out: Path) -> list[str]:
            return [*teach_args(out, server.url, "--set", "teacher.openai.concurrency=2"),
                    "--set", "augment.times.style=1", "--set", "augment.times.entity=1",
                    "--set", "augment.times.image=1", "--set", "augment.sources=40"]

        def augment(out: Path) -> list[str]:
            return ["augment", *args(out)[1:]]

        finish(augment(tmp_path / "ref"))
        ref = tmp_path / "ref" / "demo_mner"
        total = count_rows(ref / "teacher" / "store.sqlite")
        run = tmp_path / "killed" / "demo_mner"
        kill_at_store_rows("augment", augment(tmp_path / "killed"), run, total, slow)
    name = Path("augment") / "train.jsonl"
    assert (run / name).read_bytes() == (ref / name).read_bytes()
    assert store_content(run) == store_content(ref)


# -- caption ----------------------------------------------------------------------------


def line_count(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.is_file() else 0


@pytest.mark.parametrize("slow", modes("caption"))
def test_killed_caption_resumes_to_the_same_bytes(slow: bool, tmp_path: Path,
                                                  tiny_blip2: Path) -> None:
    def args(out: Path) -> list[str]:
        return caption_args(out, tiny_blip2, batch_size=2)

    finish(args(tmp_path / "ref"))
    run = tmp_path / "killed" / "demo_mner"
    output = run / "captions" / "captions.jsonl"
    rng, log = rng_for("caption"), KillLog("caption")
    for target in sorted(rng.sample(range(1, DEMO_SAMPLES), kills("caption", slow))):
        if kill_when(args(tmp_path / "killed"), lambda t=target: line_count(output) >= t,
                     rng.uniform(0, 0.3)):
            partial = not output.read_bytes().endswith(b"\n")
            log.landed.append(f"{line_count(output)}/{DEMO_SAMPLES} images"
                              + (" (partial last line)" if partial else ""))
        else:
            log.missed += 1
        assert torn_jsonl_lines(run, appended=("captions.jsonl",)) == []
    finish(args(tmp_path / "killed"))
    LOGS.append(log)
    assert len(log.landed) >= max(1, kills("caption", slow) - 1)
    reference = tmp_path / "ref" / "demo_mner" / "captions" / "captions.jsonl"
    assert output.read_bytes() == reference.read_bytes()
    assert line_count(output) == DEMO_SAMPLES


# -- train ------------------------------------------------------------------------------

STEPS, EVERY = 12, 2


def train_outcome(run: Path) -> tuple[dict, dict]:
    report = json.loads((run / "student" / "train_report.json").read_text())
    dev = {k: v for k, v in report["dev"].items() if "runtime" not in k and "per_second" not in k}
    weights = load_file(str(run / "student" / "model" / "model.safetensors"))
    return ({"steps": report["steps"], "best": Path(report["best_checkpoint"]).name, **dev},
            weights)


@pytest.mark.parametrize("slow", modes("train"))
def test_killed_training_resumes_to_the_same_step_metrics_and_weights(
        slow: bool, tmp_path: Path, tiny_encoder: Path, demo_context) -> None:
    _, knowledge = demo_context

    def args(out: Path) -> list[str]:
        return ["train", str(DEMO_CONFIG), "--set", f"run.output_dir={out}",
                "--set", f"student.encoder={tiny_encoder}",
                "--set", f"student.context.knowledge=[{knowledge}]",
                "--set", "student.views.context_order=[knowledge]",
                "--set", f"student.train.max_steps={STEPS}",
                "--set", f"student.train.eval_steps={EVERY}",
                "--set", "student.train.batch_size=8", "--set", "student.train.logging_steps=1",
                "--set", "student.train.early_stopping_patience=null"]

    finish(args(tmp_path / "ref"))
    run = tmp_path / "killed" / "demo_mner"
    folder = run / "student" / "checkpoints"
    rng, log = rng_for("train"), KillLog("train")
    last = STEPS // EVERY
    for target in sorted(rng.choices(range(1, last + 1), k=kills("train", slow))):
        # Kill as this run starts a checkpoint at or past a seeded step (often mid-save), or
        # up to 1 s later (mid-step, mid-evaluation, or while the final model is written).
        began = time.time()
        if kill_when(args(tmp_path / "killed"),
                     lambda t=target * EVERY, b=began: new_checkpoint(folder, t, b),
                     rng.choice([0.0, rng.uniform(0, 0.3), rng.uniform(0, 1.0)])):
            torn = sorted(p.name for p in folder.glob("checkpoint-*")
                          if int(p.name.split("-")[1]) not in complete_steps(folder))
            log.landed.append(f"at checkpoint-{target * EVERY}+"
                              + (f" (torn: {', '.join(torn)})" if torn else ""))
        else:
            log.missed += 1
    finish(args(tmp_path / "killed"))
    LOGS.append(log)
    assert len(log.landed) >= max(1, kills("train", slow) - 1)
    got, got_weights = train_outcome(run)
    want, want_weights = train_outcome(tmp_path / "ref" / "demo_mner")
    assert got == want and got["steps"] == STEPS
    assert got_weights.keys() == want_weights.keys()
    for name, tensor in want_weights.items():
        assert got_weights[name].equal(tensor), name


def new_checkpoint(folder: Path, step: int, since: float) -> bool:
    """A checkpoint at or past `step` begun since `since` (the run may be deleting one)."""
    for path in folder.glob("checkpoint-*"):
        try:
            if int(path.name.split("-")[1]) >= step and path.stat().st_mtime >= since:
                return True
        except OSError:
            continue
    return False


def complete_steps(folder: Path) -> set[int]:
    steps = {int(p.name.split("-")[1]) for p in folder.glob("checkpoint-*")}
    return {s for s in steps if checkpoint_is_complete(folder / f"checkpoint-{s}", s)}


def test_a_torn_newest_checkpoint_is_removed_and_never_resumed_from(tmp_path: Path) -> None:
    for step, state in ((2, '{"global_step": 2}'), (4, '{"global_step": 4}'),
                        (6, '{"global_step": 6, "log_hi'), (8, None)):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(b"weights")
        if state is not None:  # 6: killed while writing its state; 8: before it
            (folder / "trainer_state.json").write_text(state)
    (tmp_path / "checkpoint-10").write_text("a file, not a checkpoint")
    assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-10", "checkpoint-2",
                                                           "checkpoint-4"]
    assert last_complete_checkpoint(tmp_path / "nothing") is None


def test_checkpoints_are_resumed_only_by_the_training_that_recorded_them(tmp_path: Path) -> None:
    folder = tmp_path / "checkpoints"
    mine = {"student": {"variant": "text", "train": {"learning_rate": 0.001}}, "seed": 1}
    claim_checkpoints(folder, mine)  # a fresh folder: claimed, the record written
    (folder / "checkpoint-2").mkdir()
    claim_checkpoints(folder, mine)
    other = {"student": {"variant": "cot", "train": {"learning_rate": 0.001}}, "seed": 1}
    with pytest.raises(CotpdError, match=r"checkpoints of another training \(it differs in "
                                         r"student\.variant\); .* or remove "):
        claim_checkpoints(folder, other)
    (folder / TRAINING_RECORD).unlink()  # checkpoints nobody can vouch for
    with pytest.raises(CotpdError, match="with no record of the training that made them"):
        claim_checkpoints(folder, mine)
    assert sorted(p.name for p in folder.iterdir()) == ["checkpoint-2"]  # nothing deleted
    (folder / "checkpoint-2").rmdir()
    claim_checkpoints(folder, other)  # no checkpoints left: a fresh training takes it
    assert json.loads((folder / TRAINING_RECORD).read_text()) == other
