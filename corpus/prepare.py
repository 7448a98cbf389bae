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
from corpus.run_files import RunFiles
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
    test_spec = get_dataset(config.test_dataset) if config.test_dataset else spec
    if test_spec.task != spec.task:
        raise CotpdError(f"data.test_dataset: {test_spec.name} is a {test_spec.task} dataset "
                         f"but {spec.name} is {spec.task}; expected the same task")
    paths = {split: split_path(spec, split, config.data_root) for split in REQUIRED_SPLITS}
    if config.test_dataset:  # cross-domain: the test split must be there
        paths["test"] = split_path(test_spec, "test", config.data_root)
    else:  # training needs train and dev only; a missing test split is listed in the report
        with contextlib.suppress(CotpdError):
            paths["test"] = split_path(spec, "test", config.data_root)
    fingerprints = {str(path): sha256_file(path) for path in paths.values()}
    if config.label_map:  # the renames change the samples, so they are part of the key
        fingerprints["label_map"] = json.dumps(config.label_map, sort_keys=True)
    data_dir = RunFiles(run_dir).data_dir
    report_path = data_dir / REPORT_NAME
    if report_path.is_file():
        previous = json.loads(report_path.read_text(encoding="utf-8"))
        if previous.get("fingerprints") == fingerprints and all(
                (data_dir / f"{split}.jsonl").is_file() for split in paths):
            return PrepareResult(data_dir, fingerprints, skipped=True, report=previous)
    report: dict = {"dataset": spec.name, "task": spec.task, "fingerprints": fingerprints,
                    "splits": {}, "problems": [],
                    "missing_splits": [s for s in SPLITS if s not in paths]}
    renamed = 0
    for split, path in paths.items():
        result = read_split_file(test_spec if split == "test" else spec, path)
        renamed += rename_entity_types(result.samples, config.label_map)
        write_samples_jsonl(data_dir / f"{split}.jsonl", result.samples)
        report["splits"][split] = split_stats(result).to_dict()
        report["problems"].extend(str(p) for p in result.problems)
    if config.label_map:
        report["renamed_labels"] = renamed
    # The report is written last: its presence marks the stage as finished.
    atomic_write_text(report_path, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return PrepareResult(data_dir, fingerprints, skipped=False, report=report)


def rename_entity_types(samples: list, label_map: dict[str, str]) -> int:
    """Apply `{old type: new type}` to the B-/I- labels of MNER samples in place; returns
    how many labels changed (MRE samples have no entity labels and are left as they are)."""
    changed = 0
    for sample in samples:
        labels = getattr(sample, "labels", None)
        if not label_map or labels is None:
            continue
        for index, label in enumerate(labels):
            if label[:2] in ("B-", "I-") and label[2:] in label_map:
                labels[index] = label[:2] + label_map[label[2:]]
                changed += 1
    return changed
