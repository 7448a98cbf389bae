"""From stored answers to knowledge text: a looping answer's repeated lines are read once
(counted), every distinct line stays in its order, and clean answers pass unchanged."""

from collections import Counter

from cotpd.corpus.records import MnerSample
from cotpd.teacher.knowledge import assemble_knowledge, drop_repeated_lines
from hypothesis import given
from hypothesis import strategies as st

LINES = st.lists(st.sampled_from(["- Mets: a team.", "- NYC: a city.", " - NYC:  a city. ",
                                  "", "Background: again", "x"]), max_size=12)


@given(LINES)
def test_each_distinct_line_is_kept_once_in_first_order(lines: list[str]) -> None:
    text = "\n".join(lines)
    kept, dropped = drop_repeated_lines(text)
    keys = [" ".join(line.split()) for line in kept.split("\n")]
    non_empty = [k for k in keys if k]
    assert len(non_empty) == len(set(non_empty))  # nothing repeated
    first_order = list(dict.fromkeys(k for k in (" ".join(x.split()) for x in lines) if k))
    assert non_empty == first_order  # every distinct line, in the order it first came
    assert dropped == len(text.split("\n")) - len(kept.split("\n"))
    assert drop_repeated_lines(kept) == (kept, 0)  # idempotent
    if dropped == 0:
        assert kept == text  # a clean answer is not touched, byte for byte


def test_a_looping_answer_is_read_once_and_counted() -> None:
    loop = "\n".join(["- All the predictions you need:"] * 5 + ["- Cavs: a team"])
    samples = [MnerSample(id="a", tokens=["Cavs", "win"], labels=["B-ORG", "O"], image_id=None),
               MnerSample(id="b", tokens=["hi"], labels=["O"], image_id=None)]
    answers = {"noun": {"a": loop, "b": "- hi: a greeting"}, "sentence": {"a": "Fine.", "b": ""}}
    knowledge, counts = assemble_knowledge(
        samples, answers, ["noun", "sentence"], lambda t: len(t.split()), 1000, None,
        lambda t, n: t)
    assert knowledge["a"] == ("[Words] - All the predictions you need:\n- Cavs: a team "
                              "[Background] Fine.")
    assert knowledge["b"] == "[Words] - hi: a greeting"
    assert counts == Counter(repeated_lines_dropped=4, partial=1, within_budget=2)
