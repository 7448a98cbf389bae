"""A labelled subset of an MRE training split is drawn whole tweets at a time: a tweet's
instances are all labelled or all left out, so teaching the subset asks about each of its
tweets once and no tweet is half in."""

from pathlib import Path

from cotpd.corpus.config import DataConfig
from cotpd.corpus.prepare import prepare_dataset
from cotpd.corpus.records import Mention, MreSample
from cotpd.corpus.subsets import split_labelled
from hypothesis import given
from hypothesis import strategies as st


def tweets(sizes: list[int]) -> list[MreSample]:
    """One tweet per size, with that many instances."""
    return [MreSample(id=f"t{t}-{p}", tokens=[f"word{t}", "and", "more"],
                      head=Mention(f"word{t}", 0, 1), tail=Mention("more", 2, 3),
                      relation="None", image_id=None)
            for t, size in enumerate(sizes) for p in range(size)]


@given(st.lists(st.integers(1, 4), min_size=1, max_size=60), st.integers(1, 150),
       st.integers(1, 150), st.integers(0, 5))
def test_whole_tweets_nested_and_at_least_the_count(sizes, k1, k2, seed) -> None:
    samples = tweets(sizes)
    small, large = sorted((min(k1, len(samples)), min(k2, len(samples))))
    a, rest = split_labelled(samples, small, seed, whole_sentences=True)
    b, _ = split_labelled(samples, large, seed, whole_sentences=True)
    assert small <= len(a) < small + 4  # the last tweet taken may bring up to 3 more
    assert {s.id for s in a} <= {s.id for s in b}
    assert {s.tokens[0] for s in a}.isdisjoint({s.tokens[0] for s in rest})
    assert len(a) + len(rest) == len(samples)
    assert [s.id for s in a] == [s.id for s in samples if s in a]  # the file's order


def test_single_instance_sentences_draw_exactly_the_count() -> None:
    samples = tweets([1] * 30)
    whole, rest = split_labelled(samples, 9, 3, whole_sentences=True)
    assert len(whole) == 9 and len(rest) == 21
    # MNER keeps its per-sample draw, so its earlier subsets stay what they were.
    per_sample, _ = split_labelled(samples, 9, 3)
    assert len(per_sample) == 9


def test_prepare_reports_the_tweets_of_an_mre_subset(tmp_path: Path) -> None:
    config = DataConfig(dataset="demo_mnre", labelled_count=20, labelled_seed=1)
    report = prepare_dataset(config, tmp_path).report
    labelled = report["labelled"]
    assert labelled["kept"] >= 20 and labelled["sentences"] <= labelled["kept"]
    assert report["splits"]["train"]["sentences"] == labelled["kept"]
