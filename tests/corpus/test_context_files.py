"""Captions and knowledge from files: formats, id matching, counts, file:line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cotpd.corpus.conll import read_conll
from cotpd.corpus.context_files import (
    AttachReport,
    KnowledgeRecord,
    attach_context,
    load_captions,
    load_knowledge,
    load_knowledge_files,
    normalise_image_id,
)
from cotpd.corpus.errors import DataFormatError
from cotpd.corpus.records import Mention, MnerSample, MreSample


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(path: Path, *records: object) -> Path:
    return write(path, "".join(json.dumps(r) + "\n" for r in records))


def mner(sample_id: str, tokens: list[str], image_id: str | None = None) -> MnerSample:
    return MnerSample(id=sample_id, tokens=tokens, labels=["O"] * len(tokens),
                      image_id=image_id if image_id is not None else sample_id)


def test_normalise_image_id() -> None:
    assert normalise_image_id("17_06_12483.jpg") == "17_06_12483"
    assert normalise_image_id("a.JPEG") == "a"
    assert normalise_image_id("b.png") == "b"
    assert normalise_image_id("17_06_12483") == "17_06_12483"
    assert normalise_image_id("c.gif") == "c.gif"
    assert normalise_image_id(".jpg") == ".jpg"


def test_load_captions_text_format(tmp_path: Path) -> None:
    path = write(tmp_path / "caps.txt",
                 "17_06_1.jpg :a man on a stage\n\n"
                 "O_2.png :a sign : with a colon\n"
                 "17_06_3 :\n"
                 "17_06_1.jpg :a man on a stage\n")
    assert load_captions(path) == {"17_06_1": "a man on a stage",
                                   "O_2": "a sign : with a colon", "17_06_3": ""}


def test_load_captions_jsonl(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "caps.jsonl", {"img_id": "x.jpg", "caption": "a dog"},
                 {"img_id": "y", "caption": " a cat "})
    assert load_captions(path) == {"x": "a dog", "y": "a cat"}


@pytest.mark.parametrize(("text", "line"), [
    ("a.jpg :ok\nno separator here\n", 2),
    ("a.jpg :ok\n :no id\n", 2),
    ("a.jpg :one\nb.jpg :two\na :three\n", 3),
    ('{"img_id": "a", "caption": "ok"}\n{"img_id": "b"\n', 2),
    ('{"img_id": "a", "caption": "ok"}\n\n{"img_id": "b"}\n', 3),
    ('{"img_id": "a", "caption": "ok"}\n["a", "b"]\n', 2),
    ('{"img_id": 7, "caption": "ok"}\n', 1),
])
def test_malformed_captions_name_file_and_line(tmp_path: Path, text: str, line: int) -> None:
    path = write(tmp_path / "caps.txt", text)
    with pytest.raises(DataFormatError, match=f":{line}:") as error:
        load_captions(path)
    assert str(path) in str(error.value)


def test_duplicate_caption_names_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "caps.txt", "a.jpg :one\nb.jpg :two\na :three\n")
    with pytest.raises(DataFormatError) as error:
        load_captions(path)
    assert f"{path}:3:" in str(error.value) and f"{path}:1:" in str(error.value)


def test_load_knowledge_keys_and_tokens(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "k.jsonl",
                 {"img_id": "17_06_1.jpg", "tokens": ["Hi", "Bob"], "labels": ["O", "B-PER"],
                  "knowledge": "Bob is a person."},
                 {"id": "train-000001", "img_id": "x.jpg", "knowledge": "per sample"})
    assert load_knowledge(path) == {
        "17_06_1": KnowledgeRecord("Bob is a person.", ["Hi", "Bob"], 1),
        "train-000001": KnowledgeRecord("per sample", None, 2),
    }


@pytest.mark.parametrize(("text", "line"), [
    ('{"img_id": "a", "knowledge": "k"}\n{bad json\n', 2),
    ('{"img_id": "a", "knowledge": "k"}\n{"knowledge": "k"}\n', 2),
    ('\n{"img_id": "a"}\n', 2),
    ('{"img_id": "a", "knowledge": 3}\n', 1),
    ('{"img_id": "a", "knowledge": "k", "tokens": "a b"}\n', 1),
    ('{"id": "", "knowledge": "k"}\n', 1),
    ('{"img_id": "a", "knowledge": "k"}\n{"img_id": "a.jpg", "knowledge": "k"}\n', 2),
])
def test_malformed_knowledge_names_file_and_line(tmp_path: Path, text: str, line: int) -> None:
    path = write(tmp_path / "k.jsonl", text)
    with pytest.raises(DataFormatError, match=f":{line}:") as error:
        load_knowledge(path)
    assert str(path) in str(error.value)


def test_knowledge_files_merge_and_duplicate_across_files(tmp_path: Path) -> None:
    first = jsonl(tmp_path / "train.jsonl", {"img_id": "a", "knowledge": "ka"})
    second = jsonl(tmp_path / "valid.jsonl", {"img_id": "b", "knowledge": "kb"},
                   {"img_id": "a.jpg", "knowledge": "again"})
    assert set(load_knowledge_files([first, jsonl(tmp_path / "t.jsonl")])) == {"a"}
    with pytest.raises(DataFormatError) as error:
        load_knowledge_files([first, second])
    message = str(error.value)
    assert f"{second}:2:" in message and f"{first}:1:" in message


def test_attach_counts_missing_and_mismatch() -> None:
    samples = [mner("17_06_1", ["Hi", "Bob"]), mner("17_06_2", ["Yo"]),
               mner("17_06_3", ["No", "match"]), mner("s4", ["x"], image_id="17_06_4.jpg")]
    captions = {"17_06_1": "cap one", "17_06_4": "cap four"}
    knowledge = {"17_06_1": KnowledgeRecord("k1", ["Hi", "Bob"], 1),
                 "17_06_3": KnowledgeRecord("k3", ["No", "matches"], 2),
                 "s4": KnowledgeRecord("k4", None, 3)}
    report = attach_context(samples, captions, knowledge)
    assert report == AttachReport(samples=4, with_caption=2, with_knowledge=2,
                                  missing_caption=2, missing_knowledge=1, token_mismatch=1)
    assert report.to_dict()["token_mismatch"] == 1
    assert [s.context.caption for s in samples] == ["cap one", None, None, "cap four"]
    assert [s.context.knowledge for s in samples] == ["k1", None, None, "k4"]


def test_attach_prefers_sample_id_and_skips_absent_sources() -> None:
    sample = MreSample(id="train-000001", tokens=["A", "met", "B"], head=Mention("A", 0, 1),
                       tail=Mention("B", 2, 3), relation="None", image_id="img.jpg")
    knowledge = {"img": KnowledgeRecord("per image", None, 1),
                 "train-000001": KnowledgeRecord("per sample", None, 2)}
    report = attach_context([sample], None, knowledge)
    assert sample.context.knowledge == "per sample"
    assert sample.context.caption is None
    assert report.to_dict() == {"samples": 1, "with_caption": 0, "with_knowledge": 1,
                                "missing_caption": 0, "missing_knowledge": 0,
                                "token_mismatch": 0}


def test_attach_sample_without_image_id() -> None:
    sample = mner("s1", ["x"])
    sample.image_id = None
    report = attach_context([sample], {"s2": "c"}, {})
    assert (report.missing_caption, report.missing_knowledge) == (1, 1)


def test_real_blip2_captions_and_knowledge(shared_data: Path) -> None:
    caption_file = shared_data / "captions" / "BLIP2_17.txt"
    captions = load_captions(caption_file)
    lines = caption_file.read_text(encoding="utf-8").splitlines()
    assert len(captions) == sum(1 for line in lines if line.strip()) == 4819

    samples = read_conll(shared_data / "twitter2017" / "valid.txt").samples
    knowledge = load_knowledge(shared_data / "knowledge" / "twitter2017_valid.jsonl")
    report = attach_context(samples, captions, knowledge)
    assert report.to_dict() == {"samples": 723, "with_caption": 723, "with_knowledge": 723,
                                "missing_caption": 0, "missing_knowledge": 0,
                                "token_mismatch": 0}
    assert all(s.context.caption and s.context.knowledge for s in samples)


def test_real_knowledge_splits_merge(shared_data: Path) -> None:
    folder = shared_data / "knowledge"
    merged = load_knowledge_files(sorted(folder.glob("twitter2017_*.jsonl")))
    assert len(merged) == 3373 + 723 + 723
