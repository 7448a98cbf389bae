"""benchmarks/low_resource.py: its grid as a study on a Twitter-2017-shaped root made from
the demo data (no training): times-major cells, nested training subsets drawn as the
benchmark always drew them, the seeded dev sample, and a results line read back from a
run folder."""

import json
import random
import shutil
from pathlib import Path

from cotpd.corpus.conll import read_conll
from cotpd.corpus.prepare import prepare_dataset
from cotpd.corpus.records import Sample

from tests.benchmark_module import load_benchmark

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo_mner"



def _args(module, tmp_path: Path):
    root = tmp_path / "data"
    (root / "twitter2017").mkdir(parents=True)
    for name in ("train.txt", "valid.txt", "test.txt"):
        shutil.copy(DEMO / name, root / "twitter2017" / name)
    return module.parse_args(["--data-root", str(root), "--work-dir", str(tmp_path / "work"),
                              "--sizes", "5", "10", "--times", "0", "2", "--dev-size", "4",
                              "--seed", "3", "--results", str(tmp_path / "results.jsonl")])


def test_cells_subsets_and_dev_sample(tmp_path: Path) -> None:
    module = load_benchmark("low_resource")
    args = _args(module, tmp_path)
    spec = module.study_spec(args)
    grid = [(cell["times"], cell["size"]) for cell, _ in module.cells(spec)]
    assert grid == [("k0", "n5"), ("k0", "n10"), ("k2", "n5"), ("k2", "n10")]
    module.write_dev_root(args)
    train_all = [s.tokens for s in read_conll(args.data_root / "twitter2017" / "train.txt").samples]
    chosen = {}
    for cell, seed in module.cells(spec):
        config = module.cell_config(spec, cell, seed, [])
        assert config.teacher.store == args.work_dir / "teacher_store.sqlite"
        if cell["times"] == "k0":
            assert config.augment is None
        else:
            assert config.augment.times.style == 2 and config.augment.times.entity == 2
        prepared = prepare_dataset(config.data, tmp_path / "run" / module.cell_id(cell, seed))
        train = [s.tokens for s in _read(prepared.data_dir / "train.jsonl")]
        dev = _read(prepared.data_dir / "dev.jsonl")
        size = int(cell["size"][1:])
        # The benchmark's draw: the first N of one seeded shuffle, in file order.
        order = list(range(len(train_all)))
        random.Random(args.seed).shuffle(order)
        assert train == [train_all[i] for i in sorted(order[:size])]
        assert len(dev) == 4
        chosen[cell["size"]] = train
    assert all(words in chosen["n10"] for words in chosen["n5"])  # nested subsets


def _read(path: Path) -> list[Sample]:
    from cotpd.corpus.files import read_samples_jsonl

    return read_samples_jsonl(path)


def test_results_line_from_a_run_folder(tmp_path: Path) -> None:
    module = load_benchmark("low_resource")
    args = _args(module, tmp_path)
    run = tmp_path / "run"
    (run / "student").mkdir(parents=True)
    (run / "augment").mkdir()
    micro = {"precision": 0.5, "recall": 0.25, "f1": 1 / 3}
    (run / "metrics.json").write_text(json.dumps({"splits": {"test": {"micro": micro}}}))
    (run / "student" / "train_report.json").write_text(json.dumps(
        {"dev": {"eval_f1": 0.6}, "steps": 40, "context": {"train": {"samples": 10}}}))
    (run / "pipeline_times.json").write_text(json.dumps({"augment": 12.34, "train": 56.78,
                                                         "evaluate": 3.0}))
    (run / "augment" / "summary.json").write_text(json.dumps(
        {"written": 7, "types": {"style": {"kept": 3}, "entity": {"kept": 4}}}))
    record = module.cell_record(10, 2, args, run)
    assert record == {"key": module.cell_key(10, 2, args), "size": 10, "times": 2,
                      "types": ["entity", "style"], "seed": 3, "augmented": 7,
                      "augment_types": {"style": {"kept": 3}, "entity": {"kept": 4}},
                      "augment_seconds": 12.3, "train_seconds": 56.8, "dev_f1": 0.6,
                      "test_f1": 1 / 3, "test_precision": 0.5, "test_recall": 0.25,
                      "steps": 40, "train_samples": 17}
