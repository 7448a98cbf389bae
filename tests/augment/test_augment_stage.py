"""The augment stage with a scripted teacher: counts add up, provenance is written, only
the training split is augmented, a re-run asks nothing, zero-shot names stay apart from the
training names, and the student trains on the augmented file."""

import json
import zlib
from collections.abc import Sequence
from pathlib import Path

from cotpd.corpus.files import read_samples_jsonl
from cotpd.corpus.run_files import RunFiles
from cotpd.pipeline.config import load_run_config
from cotpd.pipeline.sections import run_augment
from cotpd.teacher.backend import GenerationRequest, GenerationResult, ResultCallback
from cotpd.teacher.runner import Teacher, teacher_fingerprint

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "configs" / "demo_mner.yaml"


class ScriptedBackend:
    """Answers by prompt kind: style repeats the text with a prefix, the factual check says
    yes / no / something unreadable by a hash of the text, images and name lists are fixed."""

    name = "scripted"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def fingerprint_parts(self) -> dict:
        return {"backend": self.name}

    def generate(self, requests: Sequence[GenerationRequest], on_result: ResultCallback) -> None:
        for request in requests:
            prompt = request.prompt or ""
            self.asked.append(prompt)
            last = prompt.rsplit("\n\n", 1)[-1]
            text = last.split(": ", 1)[-1].split("\n", 1)[0]
            if prompt.endswith("Tweet:"):
                answer = f"wow {text} !!"
            elif prompt.endswith("(yes or no):"):
                answer = ["Yes.", "no, never", "hmm"][zlib.crc32(text.encode()) % 3]
            elif prompt.endswith("A possible image:"):
                answer = f"a photo about {text.split()[0]}"
            else:  # entity list: "Type: person\nNames:\n" -> names made from the type
                word = prompt.rsplit("Type: ", 1)[-1].split()[0].strip(",").capitalize()
                answer = f"1. Zed {word}\n2. Quinn {word}\n- Zed {word}\nMarco Delgado"
            on_result(request, GenerationResult(text=answer, finish_reason="stop",
                                                completion_tokens=3))


def scripted_teacher() -> tuple[Teacher, ScriptedBackend]:
    backend = ScriptedBackend()
    return Teacher(backend=backend, fingerprint=teacher_fingerprint({"scripted": 1}),
                   style="completion"), backend


def config(tmp_path: Path, *extra: str):
    return load_run_config(DEMO, [f"run.output_dir={tmp_path}", "augment.times.style=2",
                                  "augment.times.entity=2", "augment.times.image=1",
                                  "augment.sources=12", *extra])


def test_counts_add_up_and_every_sample_carries_its_provenance(tmp_path: Path) -> None:
    run_config = config(tmp_path)
    teacher, backend = scripted_teacher()
    summary = run_augment(run_config, run_config.run.directory, teacher=teacher).summary
    for kind, counts in summary["types"].items():
        assert counts["asked"] == counts["kept"] + sum(counts["dropped"].values()), kind
    style, entity, image = (summary["types"][k] for k in ("style", "entity", "image"))
    assert style["asked"] == 24 and style["dropped"]["duplicate"] == 12  # same prompt answer
    assert entity["asked"] == 24 and set(entity["factual_answers"]) <= {"yes", "no",
                                                                        "unparsed"}
    assert sum(entity["factual_answers"].values()) == entity["asked"] - entity["dropped"].get(
        "no_entity", 0) - entity["dropped"].get("no_candidate", 0)
    assert image["kept"] == 12
    lines = [json.loads(line) for line in RunFiles(run_config.run.directory).augmented.open()]
    assert len(lines) == summary["written"] == sum(c["kept"] for c in summary["types"].values())
    train_ids = {s.id for s in read_samples_jsonl(tmp_path / "demo_mner" / "data" /
                                                  "train.jsonl")}
    for line in lines:
        provenance = line["provenance"]
        assert provenance["source_id"] in train_ids  # only the training split is augmented
        assert provenance["teacher"] == teacher.fingerprint
        assert len(line["tokens"]) == len(line["labels"])
        if provenance["augmentation"] == "image":
            assert provenance["image"] == "generated"
            assert line["context"]["caption"].startswith("a photo about")
    samples = read_samples_jsonl(RunFiles(run_config.run.directory).augmented)
    assert len(samples) == len(lines)
    asked = len(backend.asked)
    again = run_augment(run_config, run_config.run.directory, teacher=teacher).summary
    assert len(backend.asked) == asked  # everything came from the store
    for kind, counts in again["types"].items():
        assert counts["teacher_prompts"]["asked"] == 0
        assert {k: v for k, v in counts.items() if k != "teacher_prompts"} == {
            k: v for k, v in summary["types"][kind].items() if k != "teacher_prompts"}


def test_zero_shot_names_are_deduplicated_and_not_training_names(tmp_path: Path) -> None:
    run_config = config(tmp_path, "augment.entity_source=zero_shot",
                        "augment.zero_shot_list_size=8", "augment.factual_check=false",
                        "augment.times.style=0", "augment.times.image=0")
    teacher, _ = scripted_teacher()
    summary = run_augment(run_config, run_config.run.directory, teacher=teacher).summary
    zero_shot = summary["entity"]["zero_shot"]
    assert zero_shot["refused"]["in_training_set"] >= 1  # Marco Delgado is a training name
    assert zero_shot["refused"]["duplicate"] >= 1
    assert zero_shot["names"] and all(n == 2 for n in zero_shot["names"].values())
    samples = read_samples_jsonl(RunFiles(run_config.run.directory).augmented)
    assert samples
    for sample in samples:
        text = " ".join(sample.tokens)
        assert "Zed " in text or "Quinn " in text
    assert summary["types"]["entity"]["factual_answers"] == {}


def test_the_student_trains_on_the_augmented_samples(tmp_path: Path, tiny_encoder: Path,
                                                     cotpd) -> None:
    run_config = config(tmp_path)
    teacher, _ = scripted_teacher()
    summary = run_augment(run_config, run_config.run.directory, teacher=teacher).summary
    result = cotpd("train", DEMO, "--set", f"run.output_dir={tmp_path}",
                   "--set", "augment.times.style=2", "--set", "augment.times.entity=2",
                   "--set", "augment.times.image=1", "--set", "augment.sources=12",
                   "--set", f"student.encoder={tiny_encoder}", "--set", "student.variant=text",
                   "--set", "student.train.max_steps=2", "--set", "student.train.eval_steps=2")
    assert result.exit_code == 0, result.err[-2000:]
    report = json.loads((tmp_path / "demo_mner" / "student" / "train_report.json").read_text())
    assert report["context"]["augment"]["samples"] == summary["written"]
    assert report["context"]["augment"]["without_knowledge"] == summary["written"]
    missing = cotpd("train", DEMO, "--set", f"run.output_dir={tmp_path / 'other'}",
                    "--set", "augment.times.style=1")
    assert missing.exit_code == 2 and "cotpd augment" in missing.err
