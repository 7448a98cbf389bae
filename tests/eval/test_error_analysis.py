"""Type confusion and worst errors agree with the metric's counts."""

from cotpd.corpus.records import Mention, MnerSample, MreSample, SampleContext
from cotpd.eval.error_analysis import (
    MISSED,
    SPURIOUS,
    entity_type_confusion,
    relation_confusion,
    worst_mner_errors,
    worst_mre_errors,
)
from cotpd.eval.metrics import mner_scores
from hypothesis import given, settings
from hypothesis import strategies as st

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG"]


def test_confusion_separates_wrong_type_missed_and_spurious() -> None:
    gold = [["B-PER", "I-PER", "O", "B-LOC", "O", "O"]]
    pred = [["B-ORG", "I-ORG", "O", "O", "O", "B-PER"]]
    table = entity_type_confusion(gold, pred)
    assert table == {"LOC": {MISSED: 1}, "PER": {"ORG": 1}, SPURIOUS: {"PER": 1}}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.lists(st.sampled_from(LABELS), min_size=1, max_size=8),
                          st.lists(st.sampled_from(LABELS), min_size=8, max_size=8)),
                min_size=1, max_size=6))
def test_confusion_adds_up_to_the_metric_counts(pairs) -> None:
    gold = [g for g, _ in pairs]
    pred = [p[: len(g)] for g, p in pairs]
    table = entity_type_confusion(gold, pred)
    scores = mner_scores(gold, pred).micro
    diagonal = sum(row.get(kind, 0) for kind, row in table.items() if kind != SPURIOUS)
    gold_total = sum(sum(row.values()) for kind, row in table.items() if kind != SPURIOUS)
    pred_total = sum(row.get(c, 0) for row in table.values() for c in row if c != MISSED)
    assert diagonal == scores.tp
    assert gold_total == scores.n_gold
    assert pred_total == scores.n_pred


def _sample(sid: str, tokens: str, labels: list[str], knowledge: str | None) -> MnerSample:
    return MnerSample(id=sid, tokens=tokens.split(), labels=labels, image_id=None,
                      context=SampleContext(knowledge=knowledge))


def test_worst_errors_rank_by_wrong_chunks_and_carry_knowledge() -> None:
    samples = [_sample("a", "Kim in Rome", ["B-PER", "O", "B-LOC"], "Kim: a person."),
               _sample("b", "Bob at Ajax", ["B-PER", "O", "B-ORG"], None),
               _sample("c", "nothing here", ["O", "O"], None)]
    pred = [["B-PER", "O", "O"], ["O", "O", "B-LOC"], ["O", "O"]]
    worst = worst_mner_errors(samples, pred)
    assert [w["id"] for w in worst] == ["b", "a"]  # 3 wrong chunks, then 1; c is right
    assert worst[0]["errors"] == 3 and worst[1]["knowledge"] == "Kim: a person."
    assert worst[1]["gold"] == ["Kim [PER]", "Rome [LOC]"]
    assert worst[1]["predicted"] == ["Kim [PER]"]
    assert len(worst_mner_errors(samples, pred, limit=1)) == 1


def test_relation_confusion_and_worst_errors_put_real_relations_first() -> None:
    def mre(sid: str, relation: str) -> MreSample:
        return MreSample(id=sid, tokens=["A", "met", "B"], head=Mention("A", 0, 1),
                         tail=Mention("B", 2, 3), relation=relation, image_id=None)

    samples = [mre("1", "None"), mre("2", "/per/per/peer"), mre("3", "None")]
    pred = ["/per/per/peer", "None", "None"]
    assert relation_confusion([s.relation for s in samples], pred) == {
        "/per/per/peer": {"None": 1}, "None": {"/per/per/peer": 1, "None": 1}}
    assert [w["id"] for w in worst_mre_errors(samples, pred)] == ["2", "1"]
