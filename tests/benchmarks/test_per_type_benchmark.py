"""benchmarks/per_type.py on metrics.json files written here, whose figures are chosen so
that every number of its tables is known by hand."""

import json
from pathlib import Path

from tests.benchmark_module import load_benchmark

F1 = {"text": [0.50, 0.52], "cot": [0.54, 0.58], "distilled": [0.52, 0.55]}


def _write_runs(root: Path) -> None:
    for student, values in F1.items():
        for seed, f1 in enumerate(values, start=1):
            run = root / f"student-{student}__seed-{seed}"
            run.mkdir(parents=True)
            per_relation = {
                "/per/per/peer": {"f1": f1, "n_gold": 10},
                "/loc/loc/contain": {"f1": 2 * f1 - 0.5, "n_gold": 30},
            }
            if student != "text":  # a relation the text student never predicted
                per_relation["/per/misc/race"] = {"f1": 0.5, "n_gold": 1}
            micro = {"precision": f1 + 0.1, "recall": f1 - 0.1, "f1": f1}
            metrics = {"splits": {"official_dev": {"micro": micro,
                                                   "per_relation": per_relation}}}
            (run / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")


def test_micro_scores_paired_differences_and_r(tmp_path: Path) -> None:
    module = load_benchmark("per_type")
    _write_runs(tmp_path)
    students = [("(a)", "student-text"), ("(c)", "student-cot"), ("(d*)", "student-distilled")]
    table = module.tables(tmp_path, students, [1, 2], "official_dev", "(c)").splitlines()
    rows = {line.split(" | ")[0].lstrip("| "): line for line in table if line.startswith("| (")}
    # (c) - (a): +4 and +6 points, mean 5, sd 1.414, t(1) = 12.706, half-width 12.71
    assert "| 56.00 ± 2.83 | +5.00 [-7.71, +17.71] |" in rows["(c)"]
    assert rows["(a)"].startswith("| (a) | 61.00 ± 1.41 | 41.00 ± 1.41 | 51.00 ± 1.41 |")
    # (d*) keeps +2 of +4 and +3 of +6: R 0.50 on each seed and overall
    assert rows["(d*)"].endswith("| +2.50 [-3.85, +8.85] | 0.50 (per seed 0.50, 0.50) |")
    types = [line for line in table if line.startswith("| `")]
    # ordered by gold count; a relation missing from a run's scores counts as F1 0 there
    assert types == ["| `/loc/loc/contain` | 30 | 52.0 | 62.0 | 57.0 |",
                     "| `/per/per/peer` | 10 | 51.0 | 56.0 | 53.5 |",
                     "| `/per/misc/race` | 1 | 0.0 | 50.0 | 50.0 |"]


def test_a_missing_split_names_the_file(tmp_path: Path, capsys) -> None:
    module = load_benchmark("per_type")
    _write_runs(tmp_path)
    code = module.main([str(tmp_path), "--student", "student-text", "--seeds", "1",
                        "--split", "test"])
    assert code == 1
    error = capsys.readouterr().err
    assert "student-text__seed-1/metrics.json: no split 'test' (it has official_dev)" in error


def test_without_a_knowledge_student_there_is_no_r_column(tmp_path: Path) -> None:
    module = load_benchmark("per_type")
    _write_runs(tmp_path)
    table = module.tables(tmp_path, [("(a)", "student-text"), ("(c)", "student-cot")], [1, 2],
                          "official_dev", None).splitlines()
    assert table[2] == "| student | P | R | F1 | − (a) |"
    assert table[5] == ("| (c) | 66.00 ± 2.83 | 46.00 ± 2.83 | 56.00 ± 2.83 | "
                        "+5.00 [-7.71, +17.71] |")
