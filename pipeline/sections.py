"""The one place a run config is split into what each stage takes (its own section, the
data section, the run directory, keyword extras): the commands, `cotpd run`, studies and
benchmarks call the stages through these. Stages are imported when called, so the CLI
starts fast."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cotpd.caption.config import CaptionConfig
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.fingerprint import config_fingerprint
from cotpd.corpus.schema import config_to_yaml
from cotpd.corpus.stage_result import StageResult
from cotpd.pipeline.config import RunConfig
from cotpd.teacher.config import TeacherConfig

if TYPE_CHECKING:
    from cotpd.teacher.runner import Teacher


def run_caption(run_config: RunConfig, run_dir: Path, retry_failed: bool = False
                ) -> StageResult:
    from cotpd.caption import stage

    return stage.run(run_config.caption or CaptionConfig(), run_config.data, run_dir,
                     retry_failed=retry_failed)


def run_teach(run_config: RunConfig, run_dir: Path, retry_failed: bool = False,
              teacher: Teacher | None = None) -> StageResult:
    from cotpd.teacher import stage

    student = run_config.student  # the knowledge budget is counted in its tokens
    return stage.run(run_config.teacher or TeacherConfig(), run_config.data, run_dir,
                     retry_failed=retry_failed, teacher=teacher,
                     student_encoder=student.encoder if student else None,
                     trust_remote_code=student.trust_remote_code if student else False)


def run_augment(run_config: RunConfig, run_dir: Path,
                teacher: Teacher | None = None) -> StageResult:
    from cotpd.augment import stage

    return stage.run(run_config.augment, run_config.data, run_dir,
                     teacher_config=run_config.teacher or TeacherConfig(), teacher=teacher)


def run_train(run_config: RunConfig, run_dir: Path) -> StageResult:
    from cotpd.student import stage

    if run_config.student is None:
        raise CotpdError("the config has no 'student' section; add one (see "
                         "configs/demo_mner.yaml)")
    return stage.run(run_config.student, run_config.data, run_dir, seed=run_config.run.seed,
                     augmented=run_config.augment is not None,
                     run_config_yaml=config_to_yaml(run_config))


def run_evaluate(run_config: RunConfig, run_dir: Path) -> StageResult:
    """The evaluate stage, handed the student's predictor and the teacher's store, which
    eval does not import."""
    from cotpd.eval import stage
    from cotpd.pipeline.rundir import git_commit
    from cotpd.student.predict import StudentPredictor
    from cotpd.teacher.store import KnowledgeStore

    student = run_config.student
    if student is None:
        raise CotpdError("the config has no 'student' section to evaluate")
    config = stage.EvaluateConfig(
        run_name=run_config.run.name, seed=run_config.run.seed, variant=student.variant,
        encoder=student.encoder, captions=student.context.captions,
        knowledge=student.context.knowledge, config_fingerprint=config_fingerprint(run_config))
    batch_size = student.train.eval_batch_size
    return stage.run(config, run_config.data, run_dir,
                     load_predictor=lambda folder: StudentPredictor.load(
                         folder, batch_size=batch_size),
                     open_store=KnowledgeStore, git=git_commit())
