"""The corpus stage: read and check a dataset's splits, write them as samples into the run
directory. Re-running with unchanged input files does nothing."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

from cotpd.corpus.config import DataConfig
from cotpd.corpus.conll import ReadResult
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.files import atomic_write_text, write_samples_jsonl
from cotpd.corpus.fingerprint import sha256_file
from cotpd.corpus.registry import SPLITS, get_dataset, read_split_file, split_path
from cotpd.corpus.run_files import RunFiles
from cotpd.corpus.stats import split_stats
from cotpd.corpus.subsets import (
    drop_labels,
    hold_out_dev,
    labelled_count,
    split_labelled,
    transfer_set,
)
from cotpd.corpus.tasks import get_task
from cotpd.corpus.unlabelled import read_unlabelled, sentence_key

REPORT_NAME = "report.json"
REQUIRED_SPLITS = ("train", "dev")
# The dataset's dev split, when data.dev_from_train_fraction holds out part of train as dev.
OFFICIAL_DEV = "official_dev"


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
    fingerprints.update(_subset_fingerprints(config))
    if config.has_unlabelled and not get_task(spec.task).allows_unlabelled:
        raise CotpdError(f"data.rest_as_unlabelled / data.unlabelled: unlabelled sentences are "
                         f"for MNER datasets; {spec.name} is {spec.task}")
    paths_written = [*paths, "unlabelled"] if config.has_unlabelled else list(paths)
    data_dir = RunFiles(run_dir).data_dir
    report_path = data_dir / REPORT_NAME
    if report_path.is_file():
        previous = json.loads(report_path.read_text(encoding="utf-8"))
        if previous.get("fingerprints") == fingerprints and all(
                (data_dir / f"{split}.jsonl").is_file() for split in paths_written):
            return PrepareResult(data_dir, fingerprints, skipped=True, report=previous)
    report: dict = {"dataset": spec.name, "task": spec.task, "fingerprints": fingerprints,
                    "splits": {}, "problems": [],
                    "missing_splits": [s for s in SPLITS if s not in paths]}
    renamed = 0
    read = {}
    for split, path in paths.items():
        result = read_split_file(test_spec if split == "test" else spec, path)
        renamed += rename_entity_types(result.samples, config.label_map)
        read[split] = result
        report["problems"].extend(str(p) for p in result.problems)
    _hold_out_dev(config, read, report)
    rest = _take_labelled(config, read, report)
    for split, result in read.items():
        write_samples_jsonl(data_dir / f"{split}.jsonl", result.samples)
        report["splits"][split] = split_stats(result).to_dict()
    if config.has_unlabelled:
        held_out = [s for split in ("dev", OFFICIAL_DEV, "test") if split in read
                    for s in read[split].samples]
        candidates = [drop_labels(s) for s in rest] + read_unlabelled(config.unlabelled)
        kept = transfer_set(candidates, read["train"].samples, held_out)
        write_samples_jsonl(data_dir / "unlabelled.jsonl", kept.samples)
        unlabelled = ReadResult(path="(unlabelled)", sha256="", samples=kept.samples)
        report["splits"]["unlabelled"] = split_stats(unlabelled).to_dict()
        report["unlabelled"] = {"from_train": len(rest),
                                "from_files": len(candidates) - len(rest), **kept.to_dict()}
    if config.label_map:
        report["renamed_labels"] = renamed
    # The report is written last: its presence marks the stage as finished.
    atomic_write_text(report_path, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return PrepareResult(data_dir, fingerprints, skipped=False, report=report)


def _subset_fingerprints(config: DataConfig) -> dict[str, str]:
    """The keys that change which samples are labelled or unlabelled."""
    out: dict[str, str] = {}
    if config.dev_from_train_fraction is not None:
        out["dev_from_train"] = json.dumps({"fraction": config.dev_from_train_fraction,
                                            "seed": config.dev_from_train_seed})
    if config.labelled_fraction is not None or config.labelled_count is not None:
        out["labelled"] = json.dumps({"fraction": config.labelled_fraction,
                                      "count": config.labelled_count,
                                      "seed": config.labelled_seed,
                                      "rest_as_unlabelled": config.rest_as_unlabelled})
    for path in config.unlabelled:
        if not Path(path).is_file():
            raise CotpdError(f"data.unlabelled: {path} does not exist; expected a plain-text "
                             "or JSONL file of unlabelled sentences")
        out[f"unlabelled:{path}"] = sha256_file(Path(path))
    return out


def _hold_out_dev(config: DataConfig, read: dict, report: dict) -> None:
    """With data.dev_from_train_fraction: part of train becomes dev (selection), and the
    dataset's dev split is kept as `official_dev`, evaluated like test."""
    if config.dev_from_train_fraction is None:
        return
    train, official = read["train"], read["dev"]
    kept, held = hold_out_dev(train.samples, config.dev_from_train_fraction,
                              config.dev_from_train_seed)
    read[OFFICIAL_DEV] = official
    read["dev"] = ReadResult(path=f"{train.path} (held out)", sha256=train.sha256,
                             samples=held)
    train.samples[:] = kept
    report["dev_from_train"] = {"of": len(kept) + len(held), "held_out": len(held),
                                "fraction": config.dev_from_train_fraction,
                                "seed": config.dev_from_train_seed}


def _take_labelled(config: DataConfig, read: dict, report: dict) -> list:
    """Cut the training split to its labelled subset in place; returns the rest."""
    train = read["train"]
    keep = labelled_count(len(train.samples), config.labelled_fraction, config.labelled_count)
    if keep == len(train.samples):
        return []
    whole = get_task(get_dataset(config.dataset).task).samples_share_sentences
    labelled, rest = split_labelled(train.samples, keep, config.labelled_seed,
                                    whole_sentences=whole)
    report["labelled"] = {"of": len(train.samples), "kept": len(labelled),
                          "sentences": len({sentence_key(s.tokens) for s in labelled}),
                          "fraction": config.labelled_fraction,
                          "count": config.labelled_count, "seed": config.labelled_seed}
    train.samples[:] = labelled
    return rest if config.rest_as_unlabelled else []


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
