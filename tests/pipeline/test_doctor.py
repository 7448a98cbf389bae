from pathlib import Path
from typing import Annotated

import torch
from cotpd.corpus.schema import ModelPathMarker, StrictModel, model_paths
from pydantic import Field

REPO = Path(__file__).resolve().parents[2]


def test_doctor_reports_parts_and_switches(cotpd) -> None:
    result = cotpd("doctor", "--config", REPO / "configs" / "demo_mner.yaml")
    assert result.exit_code == 0, result.out
    assert "python 3." in result.out and f"torch {torch.__version__}," in result.out
    assert "seqeval" in result.out and "HF_HUB_OFFLINE=1" in result.out
    assert "ok      data.train:" in result.out


def test_doctor_fails_on_a_missing_data_file(tmp_path: Path, cotpd) -> None:
    result = cotpd("doctor", "--config", REPO / "configs" / "twitter2017.yaml", "--set",
                   f"data.data_root={tmp_path}")
    assert result.exit_code == 1
    assert "MISSING data.train" in result.out and str(tmp_path) in result.out


class _Inner(StrictModel):
    encoder: Annotated[Path, ModelPathMarker()]
    other: str = "x"


class _Outer(StrictModel):
    student: _Inner
    teacher_model: Annotated[Path | None, ModelPathMarker()] = Field(default=None)


def test_model_paths_are_found_by_their_marker() -> None:
    config = _Outer(student=_Inner(encoder=Path("/m/xlmr")))
    assert model_paths(config) == [("student.encoder", "/m/xlmr"), ("teacher_model", None)]
