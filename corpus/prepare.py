"""The corpus stage: read and check a dataset's splits, write them as samples into the run
directory. Re-running with unchanged input files does nothing."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

from corpus.config import DataConfig
from corpus.errors import CotpdError
from corpus.files import atomic_write_text, write_samples_jsonl
from corpus.fingerprint import sha256_file
from corpus.registry import SPLITS, get_dataset, read_split_file, split_path
from corpus.stats import split_stats

REPORT_NAME = "report.json"
REQUIRED_SPLITS = ("train", "dev")


@dataclass
class PrepareResult:
    data_dir: Path
    fingerprints: dict[str, str]
    skipped: bool
    report: dict


def prepare_dataset(config: DataConfig, run_dir: Path) -> PrepareResult:
    """Write `<run_dir>/data/{train,dev,test}.jsonl` and `report.json` (counts, problems,
    fingerprints). Label problems are kept as the file has them and counted in the report."""
    spec = get_dataset(config.dataset)
    paths = {split: split_path(spec, split, config.data_root) for split in REQUIRED_SPLITS}
    # Training needs train and dev only; a missing test split is listed in the report.
    with contextlib.suppress(CotpdError):
        paths["test"] = split_path(spec, "test", config.data_root)
    fingerprints = {str(path): sha256_file(path) for path in paths.values()}
    data_dir = run_dir / "data"
    report_path = data_dir / REPORT_NAME
    if report_path.is_file():
        previous = json.loads(report_path.read_text(encoding="utf-8"))
        if previous.get("fingerprints") == fingerprints and all(
                (data_dir / f"{split}.jsonl").is_file() for split in paths):
            return PrepareResult(data_dir, fingerprints, skipped=True, report=previous)
    report: dict = {"dataset": spec.name, "task": spec.task, "fingerprints": fingerprints,
                    "splits": {}, "problems": [],
                    "missing_splits": [s for s in SPLITS if s not in paths]}
    for split, path in paths.items():
        result = read_split_file(spec, path)
        write_samples_jsonl(data_dir / f"{split}.jsonl", result.samples)
        report["splits"][split] = split_stats(result).to_dict()
        report["problems"].extend(str(p) for p in result.problems)
    # The report is written last: its presence marks the stage as finished.
    atomic_write_text(report_path, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return PrepareResult(data_dir, fingerprints, skipped=False, report=report)
