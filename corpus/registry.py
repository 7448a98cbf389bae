"""The dataset registry (datasets.yaml) and how a dataset's split files are found."""

from __future__ import annotations

import difflib
import os
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from cotpd.corpus.conll import ReadResult
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.records import Task
from cotpd.corpus.schema import StrictModel
from cotpd.corpus.tasks import task_for_format
from pydantic import Field

SplitName = Literal["train", "dev", "test"]
SPLITS: tuple[SplitName, ...] = ("train", "dev", "test")
DATA_ROOT_ENV = "COTPD_DATA_ROOT"
BUNDLED_DATA = Path(__file__).resolve().parent.parent / "data"


class DatasetSpec(StrictModel):
    """One entry of the dataset registry (corpus/datasets.yaml)."""

    name: str = Field(description="The dataset's name, as configs and commands give it.")
    task: Task = Field(description="mner (entities) or mre (relations).")
    format: Literal["conll", "mnre"] = Field(
        description="File format: conll (token<TAB>label lines) or mnre (one instance per "
                    "line).")
    directory: str = Field(description="Its folder under the data root (or under data/ "
                                       "when bundled).")
    splits: dict[SplitName, str] = Field(description="File name of each split in the "
                                                     "folder.")
    labels: tuple[str, ...] | None = Field(
        None, description="Entity types (MNER) or relations (MRE); None: as the files say.")
    images: str | None = Field(None, description="The images' folder beside the splits.")
    bundled: bool = Field(False, description="Shipped in this repository's data/ folder.")
    description: str = Field("", description="One line on what the dataset is.")

    def directory_under(self, data_root: Path | None) -> Path:
        """Where this dataset's files are: bundled ones in the repo, others under the root."""
        if self.bundled:
            return BUNDLED_DATA / self.directory
        root = resolve_data_root(data_root, self.name)
        return root / self.directory


@cache
def load_registry() -> dict[str, DatasetSpec]:
    raw = yaml.safe_load((Path(__file__).parent / "datasets.yaml").read_text(encoding="utf-8"))
    return {name: DatasetSpec(name=name, **entry) for name, entry in raw.items()}


def get_dataset(name: str) -> DatasetSpec:
    registry = load_registry()
    if name not in registry:
        close = difflib.get_close_matches(name, registry, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise CotpdError(f"unknown dataset {name!r}{hint} (known: {', '.join(sorted(registry))})")
    return registry[name]


def resolve_data_root(data_root: Path | str | None, dataset: str) -> Path:
    """The data root from the argument, else $COTPD_DATA_ROOT; an error names both."""
    value = data_root or os.environ.get(DATA_ROOT_ENV)
    if not value:
        raise CotpdError(f"dataset {dataset!r} needs a data root: pass --data-root DIR (or "
                         f"data.data_root in the config) or set {DATA_ROOT_ENV}")
    return Path(value).expanduser()


def split_path(spec: DatasetSpec, split: SplitName, data_root: Path | None) -> Path:
    directory = spec.directory_under(data_root)
    path = directory / spec.splits[split]
    if not path.is_file():
        layout = "\n".join(f"  {directory / name}" for name in spec.splits.values())
        raise CotpdError(f"missing {split} file for dataset {spec.name!r}: {path}\n"
                         f"expected layout:\n{layout}")
    return path


def read_split_file(spec: DatasetSpec, path: Path) -> ReadResult:
    """Read one split file with the dataset's format and label set."""
    labels = set(spec.labels) if spec.labels is not None else None
    return task_for_format(spec.format).read(path, labels)


def read_split(spec: DatasetSpec, split: SplitName, data_root: Path | None = None) -> ReadResult:
    return read_split_file(spec, split_path(spec, split, data_root))
