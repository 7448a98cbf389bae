"""The run directory's contract: the readers one stage uses for another's files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cotpd.corpus.errors import CotpdError, DataFormatError
from cotpd.corpus.files import write_samples_jsonl
from cotpd.corpus.records import MnerSample
from cotpd.corpus.run_files import (
    RunFiles,
    attach_run_context,
    knowledge_files,
    read_augmented,
    read_captions,
)


def sample(sample_id: str, image_id: str) -> MnerSample:
    return MnerSample(id=sample_id, tokens=["Kawhi", "wins"], labels=["B-PER", "O"],
                  image_id=image_id)


def write_lines(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_every_stage_file_lies_under_its_stage_folder(tmp_path: Path) -> None:
    files = RunFiles(tmp_path)
    assert files.captions.parent == files.captions_dir == tmp_path / "captions"
    assert files.knowledge.parent == files.store.parent == files.teacher_dir
    assert files.augmented == tmp_path / "augment" / "train.jsonl"
    assert files.student_model.parent == files.checkpoints.parent == files.student_dir
    assert files.predictions("test", "conll") == tmp_path / "eval" / "test.conll"
    assert files.manifest("teach") == tmp_path / "manifests" / "teach.json"
    assert files.log("train") == tmp_path / "logs" / "train.log"
    assert files.split("dev") == tmp_path / "data" / "dev.jsonl"


def test_captions_come_from_the_configured_file_else_the_runs_ok_records(
        tmp_path: Path) -> None:
    assert read_captions(tmp_path) is None  # no caption stage ran, none configured
    write_lines(RunFiles(tmp_path).captions, [
        {"img_id": "17", "caption": "a dog", "status": "ok"},
        {"img_id": "18.jpg", "caption": "", "status": "failed", "reason": "missing"}])
    assert read_captions(tmp_path) == {"17": "a dog"}  # failed records are not captions
    configured = tmp_path / "mine.txt"
    configured.write_text("20.jpg :a cat\n", encoding="utf-8")
    assert read_captions(tmp_path, configured) == {"20": "a cat"}
    RunFiles(tmp_path).captions.write_text("{oops\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="captions.jsonl:1"):
        read_captions(tmp_path)


def test_knowledge_and_captions_attach_to_every_split_with_counts(tmp_path: Path) -> None:
    assert knowledge_files(tmp_path) == []
    written = write_lines(RunFiles(tmp_path).knowledge, [{"id": "a", "knowledge": "k of a"}])
    assert knowledge_files(tmp_path) == [written]
    other = write_lines(tmp_path / "other.jsonl", [{"id": "b", "knowledge": "k of b"}])
    assert knowledge_files(tmp_path, [other]) == [other]  # configured files win
    write_lines(RunFiles(tmp_path).captions, [{"img_id": "1", "caption": "c", "status": "ok"}])
    splits = {"train": [sample("a", "1"), sample("b", "2")]}
    report = attach_run_context(splits, tmp_path)
    assert report["train"]["with_knowledge"] == 1 and report["train"]["missing_knowledge"] == 1
    assert report["train"]["with_caption"] == 1 and report["train"]["missing_caption"] == 1
    assert splits["train"][0].context.knowledge == "k of a"
    assert splits["train"][0].context.caption == "c"


def test_augmented_samples_are_read_only_when_expected(tmp_path: Path) -> None:
    assert read_augmented(tmp_path, expected=False) is None
    with pytest.raises(CotpdError, match="cotpd augment"):
        read_augmented(tmp_path, expected=True)
    RunFiles(tmp_path).augment_dir.mkdir()
    write_samples_jsonl(RunFiles(tmp_path).augmented, [sample("a~style0", "1")])
    assert [s.id for s in read_augmented(tmp_path, expected=True)] == ["a~style0"]
