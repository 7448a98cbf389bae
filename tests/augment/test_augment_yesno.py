"""The factual check's yes/no parser on messy answers (augment.yesno)."""

import pytest
from cotpd.augment.yesno import parse_yes_no
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize("text", ["yes", "Yes.", " YES!!", "**Yes**", "yes, it is possible",
                                  "Yeah", "Y", "true", "Possible.", "Answer: yes",
                                  "yes\nno wait"])
def test_yes(text: str) -> None:
    assert parse_yes_no(text) is True


@pytest.mark.parametrize("text", ["no", "No.", "NO!", "no, Obama never played for Chelsea",
                                  "Nope", "n", "False", "not possible", "Impossible",
                                  "- no -"])
def test_no(text: str) -> None:
    assert parse_yes_no(text) is False


@pytest.mark.parametrize("text", [None, "", "   ", "maybe", "yes or no", "no or yes", "?",
                                  "It depends on the context", "n/a", "12"])
def test_unparsed(text: str | None) -> None:
    assert parse_yes_no(text) is None


@given(st.text(max_size=40))
def test_property_never_raises_and_returns_a_verdict_or_none(text: str) -> None:
    assert parse_yes_no(text) in (True, False, None)


@given(st.sampled_from(["yes", "no"]), st.sampled_from(["", " ", "**", '"', "("]),
       st.sampled_from(["", ".", "!", ",", " it is", "\n\nSentence: more"]),
       st.booleans())
def test_property_decoration_does_not_change_the_verdict(word: str, before: str, after: str,
                                                         upper: bool) -> None:
    text = before + (word.upper() if upper else word.capitalize()) + after
    assert parse_yes_no(text) is (word == "yes")
