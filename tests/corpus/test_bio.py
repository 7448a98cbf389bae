from cotpd.corpus.bio import bio_spans, is_bio_label, orphan_inside_positions
from hypothesis import given
from hypothesis import strategies as st
from seqeval.metrics.sequence_labeling import get_entities

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]


def test_label_pattern() -> None:
    assert all(is_bio_label(label) for label in [*LABELS, "B-OTHER", "I-org_x"])
    assert not any(is_bio_label(label) for label in ["", "B-", "X-PER", "B-PER ", "b-PER", "o"])


def test_orphan_inside_positions() -> None:
    assert orphan_inside_positions(["I-PER", "O", "B-LOC", "I-LOC", "I-PER", "O"]) == [0, 4]
    assert orphan_inside_positions(["B-PER", "I-PER"]) == []


def test_spans_follow_conlleval_rules() -> None:
    spans = bio_spans(["O", "I-PER", "I-PER", "B-LOC", "I-ORG", "B-ORG"])
    assert [(s.type, s.start, s.end) for s in spans] == [
        ("PER", 1, 3), ("LOC", 3, 4), ("ORG", 4, 5), ("ORG", 5, 6)]


@given(st.lists(st.sampled_from(LABELS), max_size=20))
def test_spans_agree_with_seqeval_default_mode(labels: list[str]) -> None:
    ours = {(s.type, s.start, s.end - 1) for s in bio_spans(labels)}
    assert ours == set(get_entities(labels))
