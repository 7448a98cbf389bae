"""benchmarks/seen_unseen.py on runs written here from the demo data, whose predictions are
chosen so that every figure of the table is known."""

import copy
from pathlib import Path

from cotpd.corpus.conll import read_conll, write_conll
from cotpd.corpus.files import write_samples_jsonl
from cotpd.eval.seen_unseen import seen_surfaces, surface

from tests.benchmark_module import load_benchmark

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo_mner"


def _without_unseen(samples, seen):
    """Predictions that find every seen entity and no unseen one."""
    from seqeval.metrics.sequence_labeling import get_entities

    out = []
    for sample in samples:
        copied = copy.deepcopy(sample)
        for _, start, end in get_entities(sample.labels):
            if surface(sample.tokens, start, end + 1) not in seen:
                copied.labels[start:end + 1] = ["O"] * (end + 1 - start)
        out.append(copied)
    return out


def test_the_table_from_known_predictions(tmp_path: Path, capsys) -> None:
    train, test = read_conll(DEMO / "train.txt").samples, read_conll(DEMO / "test.txt").samples
    seen = seen_surfaces((s.tokens, s.labels) for s in train)
    predictions = {"text": _without_unseen(test, seen), "know": test, "dist": test}
    for name, predicted in predictions.items():
        for seed in (1, 2):
            run = tmp_path / f"{name}__seed-{seed}"
            write_samples_jsonl(run / "data" / "train.jsonl", train)
            write_samples_jsonl(run / "data" / "test.jsonl", test)
            (run / "eval").mkdir(parents=True)
            write_conll(run / "eval" / "test.conll", predicted)
    load_benchmark("seen_unseen").main([str(tmp_path), "--text", "(a)=text", "--knowledge",
                                        "(c)=know", "--distilled", "(d)=dist", "--seeds", "1,2"])
    printed = capsys.readouterr().out
    first_table = printed.split("Precision / recall per group")[0]
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ")
            for line in first_table.splitlines() if line.startswith("| ")}
    # (a) finds the 8 seen test entities and none of the 55 unseen: all of (c)'s gain is on
    # unseen entities, and (d), equal to (c), keeps all of it (R 1.00).
    assert rows["seen"][1:4] == ["8", "100.00 ± 0.00", "100.00 ± 0.00"]
    assert rows["unseen"][1:3] == ["55", "0.00 ± 0.00"]
    assert rows["unseen"][-3:] == ["100% (+110 of +110)", "1.00", "+110 (100%) |"]
    assert rows["seen"][-3] == "0% (+0 of +110)"
    # (a) predicts only the 8 seen entities, twice: precision 100, recall 8 / 63.
    assert "| all | 100.00 / 12.70 (16) |" in printed
