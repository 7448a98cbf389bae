"""Every stage has one entry point: `run(config, data, run_dir, *, ...)` in its package's
stage.py, returning a StageResult, so the pipeline reads every stage one way."""

from __future__ import annotations

import importlib
import inspect
import typing
from pathlib import Path

import pytest
from cotpd.corpus.config import DataConfig
from cotpd.corpus.stage_result import STAGE_ENTRY, STAGE_PARAMETERS, Stage, StageResult
from cotpd.pipeline.stages import RUNNERS, STAGES

# Each stage of the pipeline -> the module that holds it.
STAGE_MODULES = {"caption": "cotpd.caption.stage", "teach": "cotpd.teacher.stage",
                 "augment": "cotpd.augment.stage", "train": "cotpd.student.stage",
                 "evaluate": "cotpd.eval.stage"}


def test_every_pipeline_stage_has_a_stage_module() -> None:
    assert set(STAGE_MODULES) == set(STAGES) == set(RUNNERS)


@pytest.mark.parametrize("stage", STAGES)
def test_the_stage_module_exposes_the_common_entry_point(stage: str) -> None:
    entry: Stage = getattr(importlib.import_module(STAGE_MODULES[stage]), STAGE_ENTRY)
    parameters = list(inspect.signature(entry).parameters.values())
    leading = parameters[:len(STAGE_PARAMETERS)]
    assert tuple(p.name for p in leading) == STAGE_PARAMETERS
    assert all(p.kind is p.POSITIONAL_OR_KEYWORD for p in leading)
    assert all(p.kind is p.KEYWORD_ONLY for p in parameters[len(STAGE_PARAMETERS):])
    hints = typing.get_type_hints(entry)
    assert hints["return"] is StageResult
    assert hints["data"] is DataConfig and hints["run_dir"] is Path
