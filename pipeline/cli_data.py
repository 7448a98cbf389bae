"""`cotpd data ...`: dataset statistics and the corpus stage."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import click
from cotpd.corpus.conll import ReadResult
from cotpd.corpus.discover import spec_for_file, spec_for_folder
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.files import atomic_write_text, read_samples_jsonl
from cotpd.corpus.lock import run_dir_lock
from cotpd.corpus.prepare import prepare_dataset
from cotpd.corpus.records import Sample
from cotpd.corpus.registry import (
    SPLITS,
    DatasetSpec,
    get_dataset,
    load_registry,
    read_split,
    read_split_file,
)
from cotpd.corpus.stats import SplitStats, format_stats, length_summary, split_stats
from cotpd.corpus.tasks import get_task
from cotpd.corpus.unlabelled import distinct_sentences
from cotpd.pipeline.cli_run import DATA_ROOT_HELP, load_with_data_root
from cotpd.pipeline.rundir import write_provenance


@click.group()
def data() -> None:
    """Datasets: statistics, checks and the corpus stage."""


@data.command("stats")
@click.argument("target")
@click.option("--data-root", type=click.Path(path_type=Path),
              help="Folder holding one folder per dataset (default: $COTPD_DATA_ROOT).")
@click.option("--dataset", "dataset_name",
              help="Read TARGET (a folder or file) with this registered dataset's format and "
                   "label set.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--strict", is_flag=True, help="Exit 3 when label problems were found.")
@click.option("--encoder", help="Also count sub-words per sample with this student encoder's "
                                "tokenizer (a folder or embedded:minilm): its text view, "
                                "special tokens and MRE markers included; p99 is a "
                                "student.views.max_length that cuts 1% of the texts.")
@click.option("--trust-remote-code", is_flag=True,
              help="Run Python code the --encoder folder ships (its auto_map).")
def stats_command(target: str, data_root: Path | None, dataset_name: str | None, as_json: bool,
                  strict: bool, encoder: str | None, trust_remote_code: bool) -> None:
    """Sentences, tokens, entities per type (or relations), lengths and label problems.

    TARGET is a registered dataset name, a dataset folder or a single split file.
    Label problems (an I- with no entity before it) are counted and listed, never fixed.
    """
    spec, results = _read_target(target, dataset_name, data_root)
    stats = {split: split_stats(result) for split, result in results.items()}
    problems = [str(p) for result in results.values() for p in result.problems]
    subwords = _subword_lengths(results, encoder, trust_remote_code) if encoder else None
    if as_json:
        splits = {s: {**st.to_dict(), **({"subword_lengths": subwords[s]} if subwords else {})}
                  for s, st in stats.items()}
        payload = {"dataset": spec.name, "task": spec.task, "splits": splits,
                   "problems": problems}
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        _print_stats(spec, stats, problems, subwords)
    if strict and problems:
        raise SystemExit(3)


def _read_target(target: str, dataset_name: str | None, data_root: Path | None,
                 splits: Sequence[str] = SPLITS) -> tuple[DatasetSpec, dict[str, ReadResult]]:
    """Read a registered dataset by name (its `splits`), or a folder or file (its format
    sniffed unless --dataset names the format and label set to use)."""
    path = Path(target)
    if path.is_dir():
        spec = get_dataset(dataset_name) if dataset_name else spec_for_folder(path)
        return spec, {s: read_split_file(spec, path / f) for s, f in spec.splits.items()
                      if (path / f).is_file()}
    if path.is_file():
        spec = get_dataset(dataset_name) if dataset_name else spec_for_file(path)
        return spec, {"file": read_split_file(spec, path)}
    if "/" in target or path.suffix:  # a path, not a dataset name: say it is missing
        raise CotpdError(f"{target}: no such file or folder")
    spec = get_dataset(target)
    return spec, {s: read_split(spec, s, data_root) for s in splits}


def _subword_lengths(results: dict[str, ReadResult], encoder: str, trust_remote_code: bool
                     ) -> dict[str, dict[str, float]]:
    from cotpd.student.lengths import subword_lengths  # torch and transformers: only here

    return {split: length_summary(subword_lengths(result.samples, encoder, trust_remote_code))
            for split, result in results.items()}


def _print_stats(spec: DatasetSpec, stats: dict[str, SplitStats], problems: list[str],
                 subwords: dict[str, dict[str, float]] | None = None) -> None:
    click.echo(format_stats(spec.name, spec.task, stats, subwords))
    noun = get_task(spec.task).label_set_noun
    if spec.labels is not None and noun is not None:
        click.echo(f"label set: {len(spec.labels)} {noun}")
    for line in problems[:20]:
        click.echo(f"  {line}")
    if len(problems) > 20:
        click.echo(f"  ... and {len(problems) - 20} more label problems (see --json)")


@data.command("sentences")
@click.argument("target")
@click.argument("extra_files", nargs=-1)
@click.option("--split", "splits", multiple=True, default=("train",), show_default=True,
              help="The split(s) of a registered dataset to write (repeatable).")
@click.option("--data-root", type=click.Path(path_type=Path),
              help="Folder holding one folder per dataset (default: $COTPD_DATA_ROOT).")
@click.option("--dataset", "dataset_name",
              help="Read TARGET (a folder or file) with this registered dataset's format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The plain-text file to write, one sentence per line.")
def sentences_command(target: str, extra_files: tuple[str, ...], splits: tuple[str, ...],
                      data_root: Path | None, dataset_name: str | None, output: Path) -> None:
    """Write the distinct sentences of a dataset's split(s) as plain text, labels left
    behind: an unlabelled-sentences file for `data.unlabelled` (e.g. MNRE's tweets as a
    transfer set for an MNER student). Repeats (one tweet per MNRE entity pair) are counted
    and written once. TARGET may also be a run's prepared split (`<run>/data/train.jsonl`,
    more such files after it), e.g. the tweets a study's teacher already answered."""
    if target.endswith(".jsonl"):  # a run's prepared split (`<run>/data/train.jsonl`)
        read = {p: read_samples_jsonl(p) for p in [target, *extra_files]}
        samples = [sample for part in read.values() for sample in part]
        unit = get_task(samples[0].task).count_unit if samples else "samples"
        _write_sentences(samples, output, unit, list(read))
        return
    if extra_files:
        raise CotpdError("more files are for JSONL sample files; give one dataset, folder or "
                         "split file")
    spec, results = _read_target(target, dataset_name, data_root, splits)
    if set(results) != {"file"}:  # a dataset folder or name: the asked splits
        missing = [s for s in splits if s not in results]
        if missing:
            raise CotpdError(f"{target}: no {', '.join(missing)} split (found: "
                             f"{', '.join(results) or 'none'})")
        results = {s: results[s] for s in splits}
    samples = [sample for result in results.values() for sample in result.samples]
    _write_sentences(samples, output, get_task(spec.task).count_unit, list(results))


def _write_sentences(samples: list[Sample], output: Path, unit: str,
                     sources: list[str]) -> None:
    sentences, repeats = distinct_sentences(samples)
    atomic_write_text(output, "".join(" ".join(tokens) + "\n" for tokens in sentences))
    click.echo(f"{len(sentences)} sentences of {len(samples)} {unit} ({', '.join(sources)}; "
               f"{repeats} repeats written once) -> {output}")


@data.command("list")
def list_command() -> None:
    """The registered datasets."""
    for spec in load_registry().values():
        click.echo(f"{spec.name:12} {spec.task:5} {spec.description}")


@data.command("verify")
@click.argument("root", type=click.Path(file_okay=False, path_type=Path))
@click.option("--dataset", "datasets", multiple=True,
              help="Check this dataset's files, present or not (repeatable); default: every "
                   "dataset with a file under ROOT.")
def verify_command(root: Path, datasets: tuple[str, ...]) -> None:
    """Check a data root against the recorded files (docs/data.md): each file present, with
    the expected sentence/instance count and sha256. Exits 1 when a file is missing or
    different."""
    from cotpd.corpus.data_files import verify_root

    checks = verify_root(root, list(datasets) or None)
    if not checks:
        click.echo(f"{root}: no recorded data file found (expected e.g. "
                   f"{root / 'twitter2017' / 'train.txt'}); see docs/data.md", err=True)
        raise SystemExit(1)
    for check in checks:
        click.echo(f"{check.status:10} {check.dataset:22} {check.path}: {check.detail}")
    bad = [c for c in checks if c.status in ("missing", "different")]
    unrecorded = sum(c.status == "unrecorded" for c in checks)
    note = f", {unrecorded} without a recorded sha256" if unrecorded else ""
    click.echo(f"{len(checks) - len(bad)} of {len(checks)} files as recorded{note}"
               + (f"; {len(bad)} missing or different" if bad else ""))
    if bad:
        raise SystemExit(1)


@data.command("prepare")
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config key, e.g. --set data.data_root=/data")
@click.option("--data-root", type=click.Path(path_type=Path), help=DATA_ROOT_HELP)
def prepare_command(config: Path, overrides: tuple[str, ...], data_root: Path | None) -> None:
    """The corpus stage: check the dataset and write its samples into the run directory."""
    run_config = load_with_data_root(config, overrides, data_root)
    run_dir = run_config.run.directory
    with run_dir_lock(run_dir):
        result = prepare_dataset(run_config.data, run_dir)
        write_provenance(run_dir, "data", run_config, result.fingerprints)
    state = "already prepared (inputs unchanged)" if result.skipped else "prepared"
    counts = ", ".join(f"{s} {stats['sentences']}" for s, stats in result.report["splits"].items())
    click.echo(f"{run_config.data.dataset}: {state}: {counts} -> {result.data_dir}")
    for split in result.report.get("missing_splits", []):
        click.echo(f"note: no {split} split found; prepared the others")
    if result.report["problems"]:
        click.echo(f"{len(result.report['problems'])} label problems kept as the files have "
                   f"them; listed in {result.data_dir / 'report.json'}")
