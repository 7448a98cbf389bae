"""Students made in a second, without training: a tiny random BERT (the embedded MiniLM
tokenizer) saved as `cotpd train` saves a student. Random weights label words in varied,
context-dependent ways, which is what tests of windows, formats and export need."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from cotpd.corpus.records import Task
from cotpd.student.config import StudentConfig
from cotpd.student.labels import label_list
from cotpd.student.model import StudentModel
from cotpd.student.saving import save_student
from transformers import AutoTokenizer, BertConfig, BertModel

DEMO_LABELS = label_list("mner", ["PER", "LOC", "ORG", "MISC"], [])


def make_student(folder: Path, tokenizer_dir: Path, *, layers: int = 2, seed: int = 0,
                 task: Task = "mner", labels: list[str] | None = None,
                 **config: Any) -> Path:
    """Save a random student to `folder` and return it; `config` goes to StudentConfig
    (e.g. variant="cpd", head="crf", views={"max_length": 32})."""
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    encoder = BertModel(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32,
                                   num_hidden_layers=layers, num_attention_heads=2,
                                   intermediate_size=64, max_position_embeddings=512),
                        add_pooling_layer=False)
    student_config = StudentConfig(encoder=str(tokenizer_dir), **config)
    labels = labels or DEMO_LABELS
    model = StudentModel(encoder, student_config, task, len(labels)).eval()
    save_student(folder, model, tokenizer, labels, training_config_yaml="{}\n")
    return folder
