"""A text-view student as a standard Hugging Face token-classification folder.

A student whose inference view is the plain text view is an encoder plus a linear layer over
each word's first sub-word: exactly what `AutoModelForTokenClassification` computes, and what
`pipeline("token-classification", aggregation_strategy="first")` reads per word. The export
copies the weights into that class, then checks on probe sentences that both give the same
scores for every word, so no cotpd code is needed to use it. The pipeline splits words at
their symbols (`@katie` -> `@` + `katie`); a student trained with a label on every sub-word
(student.subwords) labels those parts as the word's continuation, so the parts join into
the student's entity.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.records import MnerSample
from cotpd.student.data import EncodedDataset, ViewCollator
from cotpd.student.heads import TokenHead
from cotpd.student.saving import LoadedStudent, load_student
from cotpd.student.tasks import student_task
from cotpd.student.views import ViewBuilder
from torch import nn
from transformers import AutoModelForTokenClassification, PreTrainedModel

# Probe sentences for the equivalence check: tweet-like words, case, digits and symbols.
PROBES = [
    ["RT", "@nba", ":", "Kawhi", "Leonard", "wins", "MVP", "!"],
    ["Taylor", "Swift", "live", "in", "Paris", "tonight", "#", "Reputation"],
    ["(", "NBA", ")", "Golden", "State", "Warriors", "beat", "Cleveland", "118-113"],
]


@dataclass
class ExportResult:
    out: Path
    labels: list[str]
    max_difference: float  # largest |student - exported| word score on the probes
    same_tokens: bool  # the tokenizer splits whole sentences as the student splits words


def export_blocker(loaded: LoadedStudent) -> str | None:
    """Why this student cannot be a plain token classifier, or None."""
    config = loaded.config
    blocker = student_task(loaded.task).export_blocker
    if blocker is not None:
        return blocker
    view = config.resolved_infer_view
    if view == "prompt":
        return ("its inference view is 'prompt': its prompt generator puts learned vectors "
                "into the input, which AutoModelForTokenClassification has no place for; "
                "students predicting from the plain text view (variants text, mv, two_stage) "
                "export")
    if view != "text":
        return (f"its inference view is {view!r}, which appends a caption/knowledge after the "
                "text; only text-view students export")
    if loaded.model.prompt is not None:
        return ("it carries a prompt generator (variant "
                f"{config.variant!r}) that its training relied on; export a student trained to "
                "predict from the plain text view")
    head = loaded.model.head
    if isinstance(head, TokenHead) and head.crf is not None:
        return ("its head is a CRF, which decodes whole label sequences with transition "
                "scores; a plain token classifier labels each word on its own, so the export "
                "would be a different model (train with student.head=softmax to export)")
    return None


def export_student(model_dir: str | Path, out: str | Path,
                   trust_remote_code: bool = False) -> ExportResult:
    """Write `out` as an AutoModelForTokenClassification folder (config with id2label and
    label2id, model.safetensors, tokenizer) equivalent to the student at `model_dir`."""
    model_dir, out = Path(model_dir), Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise CotpdError(f"{out}: already exists and is not an empty folder; choose another "
                         "--out or remove it")
    loaded = load_student(model_dir, trust_remote_code=trust_remote_code)
    reason = export_blocker(loaded)
    if reason is not None:
        raise CotpdError(f"{model_dir}: cannot export as a plain token classifier: {reason}")
    plain = _plain_model(loaded)
    difference, same_tokens = _compare(loaded, plain)
    if difference > 1e-3 and same_tokens:
        raise CotpdError(f"{model_dir}: the exported model's scores differ from the student's "
                         f"by {difference:.2g}; not written")
    tokenizer = loaded.tokenizer
    # The pipeline truncates at model_max_length: keep it to the window the student saw.
    tokenizer.model_max_length = loaded.config.views.max_length
    plain.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return ExportResult(out, list(loaded.labels), difference, same_tokens)


def _plain_model(loaded: LoadedStudent) -> PreTrainedModel:
    config = copy.deepcopy(loaded.model.encoder.config)
    config.num_labels = len(loaded.labels)
    config.id2label = dict(enumerate(loaded.labels))
    config.label2id = {label: index for index, label in enumerate(loaded.labels)}
    plain = AutoModelForTokenClassification.from_config(config)
    classifier = getattr(plain, "classifier", None)
    source = loaded.model.head.classifier
    if not isinstance(classifier, nn.Linear) or classifier.weight.shape != source.weight.shape:
        raise CotpdError(f"{type(plain).__name__} has no linear `classifier` of shape "
                         f"{tuple(source.weight.shape)}; this encoder cannot export")
    plain.base_model.load_state_dict(loaded.model.encoder.state_dict(), strict=True)
    classifier.load_state_dict(source.state_dict())
    return plain.eval()


@torch.no_grad()
def _compare(loaded: LoadedStudent, plain: PreTrainedModel) -> tuple[float, bool]:
    """Largest word-score difference on the probes, and whether the sub-words agree."""
    samples = [MnerSample(id=str(i), tokens=words, labels=["O"] * len(words), image_id=None)
               for i, words in enumerate(PROBES)]
    builder = ViewBuilder.for_student(loaded.tokenizer, loaded.config)
    dataset = EncodedDataset(samples, ["text"], builder, label_to_id=None)
    batch = ViewCollator(loaded.tokenizer.pad_token_id)([dataset[i] for i in range(len(dataset))])
    student = loaded.model.logits(batch, "text")
    encoded = loaded.tokenizer(PROBES, is_split_into_words=True, padding=True,
                               return_tensors="pt")
    same_tokens = all(encoded["input_ids"][row, : len(dataset[row]["text"].input_ids)].tolist()
                      == dataset[row]["text"].input_ids for row in range(len(PROBES)))
    scores = plain(**encoded).logits
    difference = 0.0
    for row in range(len(PROBES)):
        word_ids = encoded.word_ids(row)
        firsts = [word_ids.index(w) for w in range(len(PROBES[row]))]
        exported = scores[row, firsts]
        difference = max(difference, (exported - student[row, : len(firsts)]).abs().max().item())
    return difference, same_tokens
