"""The trained student as one directory, loadable with one call:

    student.json             task, label list, the student config, format version
    model.safetensors        every weight (encoder, prompt generator, head)
    encoder_config/          the encoder's HF config, to rebuild it without the source weights
    tokenizer/               the tokenizer (with the MRE marker tokens)
    training_config.yaml     the resolved run config that trained it
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.files import atomic_write_text
from cotpd.corpus.model_folder import (
    embedding_rows,
    load_tokenizer,
    read_json_file,
    refuse_remote_code,
)
from cotpd.corpus.records import Task
from cotpd.student.config import StudentConfig
from cotpd.student.model import StudentModel
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, AutoModel, PreTrainedTokenizerBase

FORMAT_VERSION = 1


@dataclass
class LoadedStudent:
    model: StudentModel
    tokenizer: PreTrainedTokenizerBase
    labels: list[str]
    task: Task
    config: StudentConfig


def save_student(directory: Path, model: StudentModel, tokenizer: PreTrainedTokenizerBase,
                 labels: list[str], training_config_yaml: str,
                 state_dict: dict[str, torch.Tensor] | None = None,
                 recipe: dict | None = None) -> None:
    """Write the student directory; `state_dict` is the gathered one under ZeRO-3, `recipe`
    what made it (loss, weights, teacher), recorded for whoever loads it."""
    directory.mkdir(parents=True, exist_ok=True)
    model.encoder.config.save_pretrained(directory / "encoder_config")
    tokenizer.save_pretrained(directory / "tokenizer")
    weights = state_dict if state_dict is not None else model.state_dict()
    state = {k: v.detach().contiguous().cpu() for k, v in weights.items()}
    save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt"})
    atomic_write_text(directory / "training_config.yaml", training_config_yaml)
    meta = {"format_version": FORMAT_VERSION, "task": model.task, "labels": labels,
            "student_config": model.student_config.model_dump(mode="json"),
            **({"recipe": recipe} if recipe is not None else {})}
    # Written last: a directory without student.json is an unfinished save.
    atomic_write_text(directory / "student.json", json.dumps(meta, indent=2) + "\n")


def load_student(directory: str | Path, device: str | torch.device = "cpu",
                 trust_remote_code: bool = False) -> LoadedStudent:
    """The student of a folder, checked first. The folder is data: its own code runs only
    when the caller (the user's command line or config) passes `trust_remote_code`, never
    because the folder's student.json says so."""
    directory = Path(directory)
    meta_path = directory / "student.json"
    if not meta_path.is_file():
        raise CotpdError(f"{directory} is not a trained student (no student.json); expected the "
                         "model folder written by `cotpd train`")
    meta = read_json_file(meta_path, "the student folder")
    if meta.get("format_version") != FORMAT_VERSION:
        raise CotpdError(f"{meta_path}: format version {meta.get('format_version')}, this cotpd "
                         f"reads version {FORMAT_VERSION}")
    for key in ("task", "labels", "student_config"):
        if not meta.get(key):
            raise CotpdError(f"{meta_path}: no {key!r} (the label map of the student's head)"
                             if key == "labels" else f"{meta_path}: no {key!r}")
    config = StudentConfig.model_validate(meta["student_config"])
    encoder_dir, weights = directory / "encoder_config", directory / "model.safetensors"
    encoder_json = read_json_file(encoder_dir / "config.json", "the student's encoder_config/")
    refuse_remote_code(encoder_dir, trust_remote_code)
    if not weights.is_file():
        raise CotpdError(f"{directory}: the student folder has no model.safetensors")
    tokenizer = load_tokenizer(directory / "tokenizer", trust_remote_code,
                               embedding_rows(encoder_json), "the student's tokenizer/")
    encoder_config = AutoConfig.from_pretrained(encoder_dir, local_files_only=True,
                                                trust_remote_code=trust_remote_code)
    encoder = AutoModel.from_config(encoder_config, trust_remote_code=trust_remote_code,
                                    add_pooling_layer=False)
    model = StudentModel(encoder, config, meta["task"], len(meta["labels"]))
    model.load_state_dict(load_file(str(weights)), strict=True)
    model.to(device).eval()
    return LoadedStudent(model, tokenizer, meta["labels"], meta["task"], config)
