"""Re-alignment of gold entities in crafted rewrites (augment.align)."""

from cotpd.augment.align import locate, realign_mner, realign_mre
from cotpd.augment.tokens import tokenize
from cotpd.corpus.records import Mention, MnerSample, MreSample


def words(text: str) -> list[str]:
    return text.split()

SOURCE = MnerSample(
    id="s1",
    tokens=words("RT @espn : Tobey Maguire spotted at the Los Angeles Lakers game in Los Angeles"),
    labels=words("O O O B-PER I-PER O O O B-ORG I-ORG I-ORG O O B-LOC I-LOC"),
    image_id="img1")


def labelled(sample: MnerSample) -> list[tuple[str, str]]:
    return [(t, lab) for t, lab in zip(sample.tokens, sample.labels, strict=True) if lab != "O"]


def test_entities_moved_to_other_positions_keep_their_labels() -> None:
    text = "in Los Angeles tonight : the Los Angeles Lakers game with Tobey Maguire !!"
    sample, alignment = realign_mner(SOURCE, text, "s1~style1")
    assert sample is not None and alignment.dropped is None
    assert labelled(sample) == [("Los", "B-LOC"), ("Angeles", "I-LOC"), ("Los", "B-ORG"),
                                ("Angeles", "I-ORG"), ("Lakers", "I-ORG"), ("Tobey", "B-PER"),
                                ("Maguire", "I-PER")]
    assert alignment.matches == {"exact": 3}
    assert sample.image_id == "img1" and len(sample.labels) == len(sample.tokens)


def test_a_changed_case_is_found_by_the_tolerant_match() -> None:
    text = "tobey maguire at the Los Angeles Lakers game in los angeles"
    sample, alignment = realign_mner(SOURCE, text, "x")
    assert sample is not None
    assert labelled(sample)[:2] == [("tobey", "B-PER"), ("maguire", "I-PER")]
    assert labelled(sample)[-2:] == [("los", "B-LOC"), ("angeles", "I-LOC")]
    assert alignment.matches == {"exact": 1, "case": 2}


def test_a_hashtag_or_mention_for_an_entity_gets_its_labels() -> None:
    text = "#TobeyMaguire spotted at the @LosAngelesLakers game in Los Angeles"
    sample, alignment = realign_mner(SOURCE, text, "x")
    assert sample is not None
    assert labelled(sample) == [("#TobeyMaguire", "B-PER"), ("@LosAngelesLakers", "B-ORG"),
                                ("Los", "B-LOC"), ("Angeles", "I-LOC")]
    assert alignment.matches == {"hashtag": 2, "exact": 1}


def test_an_entity_missing_from_the_rewrite_drops_it() -> None:
    sample, alignment = realign_mner(SOURCE, "Tobey Maguire at the Lakers game in LA", "x")
    assert sample is None and alignment.dropped == "entity_missing"


def test_an_entity_written_twice_drops_it() -> None:
    text = "Tobey Maguire ! Tobey Maguire at the Los Angeles Lakers game in Los Angeles"
    sample, alignment = realign_mner(SOURCE, text, "x")
    assert sample is None and alignment.dropped == "entity_repeated"


def test_a_shorter_entity_inside_a_longer_one_is_not_counted_twice() -> None:
    source = MnerSample(id="m", tokens=words("Real Madrid beat Sevilla in Madrid"),
                        labels=words("B-ORG I-ORG O B-ORG O B-LOC"), image_id=None)
    sample, _ = realign_mner(source, "in Madrid , Real Madrid beat Sevilla", "x")
    assert sample is not None
    assert sample.labels == words("O B-LOC O B-ORG I-ORG O B-ORG")


def test_a_multi_token_entity_split_or_joined_at_punctuation() -> None:
    source = MnerSample(id="p", tokens=words("Off to St. Louis for the Cardinals game"),
                        labels=words("O O B-LOC I-LOC O O B-ORG O"), image_id=None)
    split, alignment = realign_mner(source, "St . Louis here we come , Cardinals game day",
                                    "x")
    assert split is not None and alignment.matches == {"punctuation": 1, "exact": 1}
    assert split.labels[:3] == ["B-LOC", "I-LOC", "I-LOC"]
    joined, _ = realign_mner(source, "StLouis trip for the Cardinals game", "y")
    assert joined is not None and joined.labels[0] == "B-LOC"


def test_an_unchanged_or_empty_rewrite_is_dropped_with_its_reason() -> None:
    assert realign_mner(SOURCE, " ".join(SOURCE.tokens), "x")[1].dropped == "unchanged"
    assert realign_mner(SOURCE, "   ", "x")[1].dropped == "empty"


def test_mre_head_and_tail_are_relocated() -> None:
    source = MreSample(id="r", tokens=words("Kawhi Leonard joins the Clippers"),
                       head=Mention("Kawhi Leonard", 0, 2), tail=Mention("Clippers", 4, 5),
                       relation="/per/org/member_of", image_id="i")
    sample, _ = realign_mre(source, "the Clippers sign #KawhiLeonard !!", "r~style1")
    assert sample is not None and sample.relation == "/per/org/member_of"
    assert sample.tokens[sample.head.start:sample.head.end] == ["#KawhiLeonard"]
    assert sample.tokens[sample.tail.start:sample.tail.end] == ["Clippers"]
    missing, alignment = realign_mre(source, "the Clippers sign a star", "x")
    assert missing is None and alignment.dropped == "entity_missing"


def test_the_tokenizer_splits_punctuation_but_keeps_urls_tags_and_inner_marks() -> None:
    assert tokenize("omg!! @espn: #NBA St. Louis's U.S. game http://t.co/x1?a=b") == [
        "omg", "!", "!", "@espn", ":", "#NBA", "St", ".", "Louis's", "U.S", ".", "game",
        "http://t.co/x1?a=b"]


def test_locate_without_entities_always_succeeds() -> None:
    assert locate(["a", "b"], []).dropped is None
