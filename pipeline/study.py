"""`cotpd study STUDY.yaml`: a grid of runs (teachers x datasets x variants x seeds, or any
axes) from one base config, then one table with mean ± std over seeds and the teachers'
knowledge quality.

Each cell is an ordinary run directory under `<output_dir>/<name>/runs/`; cells share one
teacher store, so a teacher answers each prompt once for the whole study. A finished cell
(its metrics.json written from the same config, operational keys such as server URLs
aside) is not run again.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.files import atomic_write_text
from cotpd.corpus.fingerprint import fingerprint_matches
from cotpd.corpus.run_files import RunFiles
from cotpd.corpus.schema import StrictModel
from cotpd.eval.knowledge_quality import run_knowledge_quality
from cotpd.eval.plots import bar_chart
from cotpd.eval.study_table import aggregate, study_markdown
from cotpd.pipeline.config import (
    ConfigError,
    RunConfig,
    apply_overrides,
    expand_environment,
    load_yaml_with_base,
    validate,
)
from cotpd.pipeline.stages import STAGES, run_stages
from cotpd.pipeline.study_log import timed_cell
from pydantic import Field


class CellOverride(StrictModel):
    """Settings for the cells that match some arms."""

    where: dict[str, str] = Field(
        min_length=1, description="Axis -> arm; a cell matches when every one matches.")
    set: dict[str, Any] = Field(
        min_length=1, description="Dotted run-config keys and values for matching cells.")


class StudySpec(StrictModel):
    """A study file. Override keys are dotted run-config keys (`student.variant`); relative
    paths in the base config and in overrides are read from the working directory."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$",
                      description="The study's name: its folder under output_dir.")
    config: Path = Field(description="The base run config, relative to the study file.")
    output_dir: Path = Field(Path("runs/studies"), description="Folder holding studies.")
    overrides: dict[str, Any] = Field({}, description="Settings applied to every cell.")
    axes: dict[str, dict[str, dict[str, Any]]] = Field(
        {}, description="Axis -> arm -> settings; the cells are every combination of arms.")
    seeds: list[int] = Field([42], min_length=1, description="Each cell runs once per seed.")
    exclude: list[dict[str, str]] = Field(
        [], description="Cells left out: each entry names arms of some axes ({teacher: "
                        "none, student: distilled}); a cell matching every arm of one entry "
                        "is not run.")
    cell_overrides: list[CellOverride] = Field(
        [], description="Settings for combinations of arms, applied after the axes' own: "
                        "[{where: {teacher: none, student: cot}, set: {student.variant: "
                        "caption}}].")
    compare_to: dict[str, str] = Field(
        {}, description="Axis -> arm every other arm is compared with, paired by seed, on "
                        "the first metric, with a 95% t-interval.")
    retention_of: dict[str, str] = Field(
        {}, description="Axis -> arm whose paired gain over the axis's compare_to arm the "
                        "other arms are measured against: R = their mean paired gain / its "
                        "(the share of the knowledge view's gain a text-only student keeps).")
    stages: list[str] | None = Field(
        None, description="Stages each cell runs; None: every stage the config has a "
                          "section for.")
    metrics: list[str] = Field(["test.f1", "dev.f1"],
                               description="Table columns: <split>.<precision|recall|f1>, "
                                           "<split>.<seen|unseen>.<measure> (entities seen "
                                           "in training or not), or train.seconds.")
    shared_store: bool = Field(
        True, description="Cells with a teacher share one answers store.")
    # Answers are keyed by content, so another run's store is reused safely.
    store: Path | None = Field(
        None, description="The shared store; None: <output_dir>/<name>/store.sqlite.")

    @property
    def directory(self) -> Path:
        return self.output_dir / self.name


def load_study(path: Path) -> StudySpec:
    data = load_yaml_with_base(path)
    spec = validate(StudySpec, data, str(path))
    if not spec.config.is_absolute():
        spec = spec.model_copy(update={"config": path.resolve().parent / spec.config})
    for field, entries in (("exclude", spec.exclude),
                           ("cell_overrides", [o.where for o in spec.cell_overrides]),
                           ("compare_to", [spec.compare_to]),
                           ("retention_of", [spec.retention_of])):
        for entry in entries:
            for axis, arm in entry.items():
                if arm not in spec.axes.get(axis, {}):
                    raise ConfigError(f"{path}: {field} names {axis}={arm}, which is not an "
                                      f"arm of the study's axes")
    for axis, arm in spec.retention_of.items():
        if spec.compare_to.get(axis) in (None, arm):
            raise ConfigError(f"{path}: retention_of names {axis}={arm}; it needs compare_to "
                              f"to name another arm of {axis} (the gains' reference)")
    unknown = sorted(set(spec.stages or []) - set(STAGES))
    if unknown:
        raise ConfigError(f"{path}: unknown stage(s) {', '.join(unknown)}; the stages are "
                          f"{', '.join(STAGES)}")
    return spec


def _as_setting(key: str, value: Any, fill: dict[str, str] | None = None) -> str:
    if isinstance(value, str) and fill:
        # `{seed}` and `{<axis>}` in a string value name this cell's seed and arms, so one
        # cell can read another's output (a two-stage student, the +CoT teacher of its seed).
        value = re.sub(r"\{([A-Za-z0-9_]+)\}",
                       lambda m: fill.get(m.group(1), m.group(0)), value)
    return f"{key}={yaml.safe_dump(value, default_flow_style=True).strip()}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text)


def cells(spec: StudySpec) -> list[tuple[dict[str, str], int]]:
    """Every (arm per axis, seed) of the grid, axes in file order."""
    names = list(spec.axes)
    arms = [list(spec.axes[axis]) for axis in names]
    grid = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*arms)]
    kept = [cell for cell in grid
            if not any(_matches(cell, entry) for entry in spec.exclude)]
    return [(cell, seed) for cell in kept for seed in spec.seeds]


def _matches(cell: dict[str, str], where: dict[str, str]) -> bool:
    return all(cell.get(axis) == arm for axis, arm in where.items())


def parse_selection(entries: list[str], spec: StudySpec) -> dict[str, set[str]]:
    """`--where axis=arm[,arm]` entries as axis -> arms; unknown axes and arms fail."""
    selection: dict[str, set[str]] = {}
    for entry in entries:
        axis, sep, arms = entry.partition("=")
        if not sep or axis not in spec.axes:
            raise ConfigError(f"--where {entry!r}: expected AXIS=ARM[,ARM] with AXIS one of "
                              f"{', '.join(spec.axes)}")
        wanted = {a.strip() for a in arms.split(",") if a.strip()}
        unknown = sorted(wanted - set(spec.axes[axis]))
        if unknown or not wanted:
            raise ConfigError(f"--where {entry!r}: {axis} has the arms "
                              f"{', '.join(spec.axes[axis])}")
        selection.setdefault(axis, set()).update(wanted)
    return selection


def selected(cell: dict[str, str], seed: int, where: dict[str, set[str]],
             seeds: set[int] | None) -> bool:
    return (seeds is None or seed in seeds) and all(cell.get(a) in arms
                                                    for a, arms in where.items())


def cell_id(cell: dict[str, str], seed: int) -> str:
    return "__".join([*(f"{_slug(a)}-{_slug(v)}" for a, v in cell.items()), f"seed-{seed}"])


def cell_config(spec: StudySpec, cell: dict[str, str], seed: int,
                extra: list[str] | None = None) -> RunConfig:
    fill = {"seed": str(seed), "study_dir": str(spec.directory), **cell}
    settings = [_as_setting(k, v, fill) for k, v in spec.overrides.items()]
    for axis, arm in cell.items():
        settings += [_as_setting(k, v, fill) for k, v in spec.axes[axis][arm].items()]
    for override in spec.cell_overrides:
        if _matches(cell, override.where):
            settings += [_as_setting(k, v, fill) for k, v in override.set.items()]
    settings += [*(extra or []), f"run.seed={seed}", f"run.name={cell_id(cell, seed)}",
                 f"run.output_dir={spec.directory / 'runs'}"]
    data = apply_overrides(load_yaml_with_base(spec.config), settings)
    if spec.shared_store and data.get("teacher") is not None:
        store = spec.store or spec.directory / "store.sqlite"
        data = apply_overrides(data, [f"teacher.store={store}"])
    source = f"{spec.name} cell {cell_id(cell, seed)}"
    return validate(RunConfig, expand_environment(data, source), source)


def metric_value(metrics: dict[str, Any], name: str) -> float | None:
    """`<split>.<measure>` (test.f1), `<split>.<seen|unseen>.<measure>` (test.unseen.f1:
    entities seen in training or not) or `train.seconds`; None where the run lacks it."""
    if name == "train.seconds":
        return metrics.get("stages", {}).get("train", {}).get("seconds")
    split, _, measure = name.partition(".")
    group, dot, rest = measure.partition(".")
    if dot:
        scores = metrics.get("seen_unseen", {}).get(split, {}).get(group)
        return scores["micro"].get(rest) if scores else None
    scores = metrics.get("splits", {}).get(split)
    return scores["micro"].get(measure) if scores else None


def finished_metrics(run_config: RunConfig) -> dict[str, Any] | None:
    path = RunFiles(run_config.run.directory).metrics
    if not path.is_file():
        return None
    metrics = json.loads(path.read_text(encoding="utf-8"))
    recorded = metrics.get("fingerprints", {}).get("config")
    return metrics if fingerprint_matches(recorded, run_config) else None


def cell_state(run_config: RunConfig) -> str:
    """`finished`, `other settings` (its run folder holds metrics of a config that is not
    this one, so the cell would run again), or `not run`."""
    if finished_metrics(run_config) is not None:
        return "finished"
    if RunFiles(run_config.run.directory).metrics.is_file():
        return "other settings"
    return "not run"


def _add_quality(quality: dict[tuple[str, str], dict[str, Any]], run_config: RunConfig) -> None:
    """The cell teacher's knowledge quality, computed once per teacher fingerprint and
    dataset (cells of one teacher share it)."""
    summary = RunFiles(run_config.run.directory).teacher_summary
    if not summary.is_file():
        return
    fingerprint = json.loads(summary.read_text(encoding="utf-8"))["fingerprint"]
    if (fingerprint, run_config.data.dataset) in quality:
        return
    from cotpd.teacher.store import KnowledgeStore

    found = run_knowledge_quality(run_config.run.directory, run_config.data.dataset,
                                  KnowledgeStore)
    if found:
        quality[(found["fingerprint"], found["dataset"])] = found


def run_study(spec: StudySpec, extra: list[str] | None = None,
              echo: Callable[[str], None] = print, where: dict[str, set[str]] | None = None,
              seeds: set[int] | None = None) -> dict[str, Any]:
    """Run every cell (skipping finished ones; with `where`/`seeds`, only the cells they
    select) and write results.jsonl, table.md and plot.png into the study directory. The
    table holds every finished cell of the grid, selected or not, so a study can be run
    a part at a time (on several nodes, or one after another)."""
    grid = cells(spec)
    if not grid:
        raise CotpdError(f"study {spec.name}: the grid is empty")
    results, quality = [], {}
    for index, (cell, seed) in enumerate(grid, 1):
        run_config = cell_config(spec, cell, seed, extra)
        name = cell_id(cell, seed)
        metrics = finished_metrics(run_config)
        if metrics is None and not selected(cell, seed, where or {}, seeds):
            echo(f"[{index}/{len(grid)}] {name}: not selected, not run")
            _add_quality(quality, run_config)  # its teacher may have answered already
            continue
        if metrics is None:
            echo(f"[{index}/{len(grid)}] {name}")
            with timed_cell(name):
                run_stages(run_config, run_config.run.directory, spec.stages,
                           echo=lambda line: echo(f"    {line}"))
            metrics = finished_metrics(run_config)
        else:
            echo(f"[{index}/{len(grid)}] {name}: finished earlier, kept")
        scores = {m: metric_value(metrics, m) for m in spec.metrics} if metrics else {}
        results.append({"cell": cell, "seed": seed, "run": str(run_config.run.directory),
                        "scores": scores,
                        "teacher": (metrics or {}).get("fingerprints", {}).get("teacher")})
        _add_quality(quality, run_config)
    return write_study_outputs(spec, results, list(quality.values()))


def run_cell(spec: StudySpec, index: int, extra: list[str] | None = None,
             echo: Callable[[str], None] = print) -> None:
    """Run the grid's cell `index` (0-based, in `cells` order) unless it has finished; the
    table is left to `run_study` (`cotpd study --slurm` runs one cell per job)."""
    grid = cells(spec)
    if not 0 <= index < len(grid):
        raise CotpdError(f"study {spec.name}: no cell {index}; the grid has {len(grid)} "
                         f"(0 to {len(grid) - 1})")
    cell, seed = grid[index]
    run_config = cell_config(spec, cell, seed, extra)
    name = cell_id(cell, seed)
    if finished_metrics(run_config) is not None:
        echo(f"[{index + 1}/{len(grid)}] {name}: finished earlier, kept")
        return
    echo(f"[{index + 1}/{len(grid)}] {name}")
    with timed_cell(name):
        run_stages(run_config, run_config.run.directory, spec.stages,
                   echo=lambda line: echo(f"    {line}"))


def write_study_outputs(spec: StudySpec, results: list[dict[str, Any]],
                        quality: list[dict[str, Any]]) -> dict[str, Any]:
    out = spec.directory
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "results.jsonl",
                      "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results))
    axes = list(spec.axes)
    scored = [r for r in results if r["scores"]]
    table = aggregate(scored, axes, spec.metrics) if scored else []
    text = study_markdown(spec.name, spec.seeds, axes, spec.metrics, spec.compare_to, scored,
                          table, quality, spec.retention_of)
    atomic_write_text(out / "table.md", text)
    headline = spec.metrics[0]
    if table and any(entry[headline] for entry in table):
        bar_chart({headline: {" / ".join(str(e[a]) for a in axes) or "all":
                              100 * e[headline][0] for e in table if e[headline]}},
                  out / "plot.png", f"{spec.name}: {headline} (mean over seeds)")
    return {"directory": str(out), "table": table, "quality": quality, "text": text}
