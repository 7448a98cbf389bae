"""Entity replacement keeps every other label intact (augment.replace), and candidates obey
the type and the not-the-same-name rules (augment.entity)."""

from collections import Counter

from cotpd.augment.config import AugmentConfig, AugmentTimes
from cotpd.augment.counts import TypeCounts
from cotpd.augment.entity import candidates
from cotpd.augment.pools import name_key, parse_name_list, training_names
from cotpd.augment.replace import replace_mner, replace_mre
from cotpd.corpus.bio import bio_spans
from cotpd.corpus.records import EntitySpan, Mention, MnerSample, MreSample
from hypothesis import given
from hypothesis import strategies as st


def words(text: str) -> list[str]:
    return text.split()

SOURCE = MnerSample(id="s", tokens=words("Marco Delgado scores as Real Madrid beat Sevilla"),
                    labels=words("B-PER I-PER O O B-ORG I-ORG O B-ORG"), image_id="i")


def test_a_multi_token_replacement_keeps_every_other_label() -> None:
    span = EntitySpan("PER", 0, 2)
    new = replace_mner(SOURCE, [(span, ("Cristiano", "Ronaldo", "dos", "Santos"))], "s~e1")
    assert new.tokens[:4] == ["Cristiano", "Ronaldo", "dos", "Santos"]
    assert new.labels == ["B-PER", "I-PER", "I-PER", "I-PER", *SOURCE.labels[2:]]
    assert new.tokens[4:] == SOURCE.tokens[2:] and new.image_id is None
    assert SOURCE.tokens[0] == "Marco"  # the source is not modified


def test_several_replacements_shift_correctly() -> None:
    spans = bio_spans(SOURCE.labels)
    new = replace_mner(SOURCE, [(spans[1], ("Chelsea",)), (spans[2], ("FC", "Porto"))], "x")
    assert new.tokens == words("Marco Delgado scores as Chelsea beat FC Porto")
    assert new.labels == words("B-PER I-PER O O B-ORG O B-ORG I-ORG")


labels_strategy = st.lists(st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]),
                           min_size=1, max_size=12)


@given(labels_strategy, st.integers(0, 20), st.integers(1, 4))
def test_property_outside_the_replaced_span_nothing_changes(labels: list[str], pick: int,
                                                            width: int) -> None:
    tokens = [f"w{i}" for i in range(len(labels))]
    sample = MnerSample(id="p", tokens=tokens, labels=labels, image_id=None)
    spans = bio_spans(labels)
    if not spans:
        return
    span = spans[pick % len(spans)]
    name = tuple(f"n{i}" for i in range(width))
    new = replace_mner(sample, [(span, name)], "p~e1")
    assert new.tokens[:span.start] == tokens[:span.start]
    assert new.labels[:span.start] == labels[:span.start]
    assert new.tokens[span.start + width:] == tokens[span.end:]
    assert new.labels[span.start + width:] == labels[span.end:]
    assert new.labels[span.start:span.start + width] == (
        [f"B-{span.type}"] + [f"I-{span.type}"] * (width - 1))
    assert len(bio_spans(new.labels)) == len(spans)


def test_mre_replacement_shifts_the_other_mention() -> None:
    source = MreSample(id="r", tokens=words("Kawhi Leonard joins the Clippers"),
                       head=Mention("Kawhi Leonard", 0, 2), tail=Mention("Clippers", 4, 5),
                       relation="/per/org/member_of", image_id="i")
    new = replace_mre(source, "head", ("LeBron",), "r~e1")
    assert new.tokens == words("LeBron joins the Clippers")
    assert (new.head.start, new.head.end, new.tail.start, new.tail.end) == (0, 1, 3, 4)
    assert new.tokens[new.tail.start:new.tail.end] == ["Clippers"]
    assert new.relation == source.relation


def test_candidates_use_the_same_type_and_never_the_same_name() -> None:
    train = [SOURCE, MnerSample(id="t", tokens=words("Lionel Messi joins Chelsea"),
                                labels=words("B-PER I-PER O B-ORG"), image_id=None)]
    pools = training_names(train)
    config = AugmentConfig(times=AugmentTimes(entity=3), seed=1)
    counts = TypeCounts()
    made = candidates([SOURCE], 3, pools, config, counts)
    assert counts.asked == 3 and len(made) + sum(counts.dropped.values()) == 3
    for sample in made:
        changed = [i for i, t in enumerate(sample.tokens) if i >= len(SOURCE.tokens)
                   or t != SOURCE.tokens[i]]
        assert changed  # something was replaced
        for span in bio_spans(sample.labels):
            name = name_key(sample.tokens[span.start:span.end])
            assert name in {name_key(n) for n in pools[span.type]}
    assert len({tuple(s.tokens) for s in made}) == len(made)


def test_a_sample_without_entities_is_counted_not_lost() -> None:
    plain = MnerSample(id="o", tokens=["hello"], labels=["O"], image_id=None)
    counts = TypeCounts()
    assert candidates([plain], 2, {}, AugmentConfig(), counts) == []
    assert counts.dropped == {"no_entity": 2}


def test_teacher_name_lists_are_cleaned_deduplicated_and_kept_apart_from_training() -> None:
    refused: Counter[str] = Counter()
    seen: set[str] = set()
    text = "1. Lionel Messi\n- Neymar\n* neymar\nMarco Delgado\n\n!!\nA: very long sentence"
    names = parse_name_list(text, {"marco delgado"}, seen, refused)
    assert names == [("Lionel", "Messi"), ("Neymar",)]
    assert refused == {"duplicate": 1, "in_training_set": 1, "not_a_name": 1,
                       "too_long_or_sentence": 1}
