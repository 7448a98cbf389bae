"""The one place a run config is split into what each stage takes (its own section, the
data section, the run directory): the commands, `cotpd run`, studies and benchmarks call
the stages through these. Stages are imported when called, so the CLI starts fast."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from cotpd.caption.config import CaptionConfig
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.schema import config_to_yaml
from cotpd.pipeline.config import RunConfig
from cotpd.teacher.config import TeacherConfig

if TYPE_CHECKING:
    from cotpd.student.train import TrainResult
    from cotpd.teacher.runner import Teacher


def caption(run_config: RunConfig, run_dir: Path, retry_failed: bool = False) -> dict[str, Any]:
    from cotpd.caption.stage import caption_stage

    return caption_stage(run_config.caption or CaptionConfig(), run_config.data, run_dir,
                         retry_failed=retry_failed)


def teach(run_config: RunConfig, run_dir: Path, retry_failed: bool = False,
          teacher: Teacher | None = None) -> dict[str, Any]:
    from cotpd.teacher.stage import teach as teach_stage

    student = run_config.student  # the knowledge budget is counted in its tokens
    return teach_stage(run_config.teacher or TeacherConfig(), run_config.data, run_dir,
                       retry_failed=retry_failed, teacher=teacher,
                       student_encoder=student.encoder if student else None,
                       trust_remote_code=student.trust_remote_code if student else False)


def augment(run_config: RunConfig, run_dir: Path,
            teacher: Teacher | None = None) -> dict[str, Any]:
    from cotpd.augment.stage import augment_run

    return augment_run(run_config.augment, run_config.teacher or TeacherConfig(),
                       run_config.data, run_dir, teacher=teacher)


def train(run_config: RunConfig, run_dir: Path) -> TrainResult:
    from cotpd.student.train import train_student

    if run_config.student is None:
        raise CotpdError("the config has no 'student' section; add one (see "
                         "configs/demo_mner.yaml)")
    return train_student(run_config.student, run_config.data, run_dir, run_config.run.seed,
                         augmented=run_config.augment is not None,
                         run_config_yaml=config_to_yaml(run_config))
