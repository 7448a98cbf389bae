import json
from pathlib import Path

from cotpd.corpus.conll import read_conll, write_conll
from cotpd.corpus.mnre import read_mnre, write_mnre

REPO = Path(__file__).resolve().parents[2]
DEMO_MNER_TEST = REPO / "data" / "demo_mner" / "test.txt"
DEMO_MNRE_TEST = REPO / "data" / "demo_mnre" / "test.txt"


def test_gold_against_itself_is_perfect(cotpd) -> None:
    result = cotpd("eval", "score", "--gold", DEMO_MNER_TEST, "--pred", DEMO_MNER_TEST, "--json")
    assert result.exit_code == 0, result.err
    assert json.loads(result.out)["micro"]["f1"] == 1.0


def test_all_o_predictions_score_zero_and_a_table_prints(tmp_path: Path, cotpd) -> None:
    samples = read_conll(DEMO_MNER_TEST).samples
    for sample in samples:
        sample.labels = ["O"] * len(sample.labels)
    pred = tmp_path / "pred.txt"
    write_conll(pred, samples)
    out_json = tmp_path / "scores.json"
    result = cotpd("eval", "score", "--gold", DEMO_MNER_TEST, "--pred", pred, "--output",
                   out_json)
    assert result.exit_code == 0, result.err
    assert "micro" in result.out and "PER" in result.out
    assert json.loads(out_json.read_text())["micro"]["f1"] == 0.0


def test_mre_all_none_is_zero(tmp_path: Path, cotpd) -> None:
    samples = read_mnre(DEMO_MNRE_TEST).samples
    for sample in samples:
        sample.relation = "None"
    pred = tmp_path / "pred.txt"
    write_mnre(pred, samples)
    result = cotpd("eval", "score", "--gold", DEMO_MNRE_TEST, "--pred", pred, "--json")
    assert result.exit_code == 0, result.err
    micro = json.loads(result.out)["micro"]
    assert (micro["precision"], micro["recall"], micro["f1"]) == (0.0, 0.0, 0.0)
    assert micro["n_pred"] == 0 and micro["n_gold"] > 0


def test_misaligned_predictions_are_named(tmp_path: Path, cotpd) -> None:
    samples = read_conll(DEMO_MNER_TEST).samples
    pred = tmp_path / "pred.txt"
    write_conll(pred, samples[:-1])
    result = cotpd("eval", "score", "--gold", DEMO_MNER_TEST, "--pred", pred)
    assert result.exit_code == 2 and "one prediction per gold sentence" in result.err
    write_conll(pred, list(reversed(samples)))
    result = cotpd("eval", "score", "--gold", DEMO_MNER_TEST, "--pred", pred)
    assert result.exit_code == 2 and "sentence 1" in result.err
    result = cotpd("eval", "score", "--gold", DEMO_MNER_TEST, "--pred", DEMO_MNRE_TEST)
    assert result.exit_code == 2 and "format" in result.err
