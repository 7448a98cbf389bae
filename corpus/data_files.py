"""The published data files and what a correct copy holds (data_files.yaml), and the check
of a data root against them (`cotpd data verify`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.fingerprint import sha256_file
from cotpd.corpus.schema import StrictModel
from pydantic import Field

Unit = Literal["sentences", "instances", "lines", "labels"]
Status = Literal["ok", "missing", "different", "unrecorded"]


class ExpectedFile(StrictModel):
    """What a correct copy of one file holds."""

    unit: Unit = Field(description="What `count` counts: sentences (CoNLL `IMGID:` blocks), "
                                   "instances or lines (non-empty lines), labels (JSON keys).")
    count: int | None = Field(description="How many a correct copy holds; null: not recorded.")
    sha256: str | None = Field(description="A correct copy's sha256; null: not recorded.")


class PublishedData(StrictModel):
    """One published dataset (or companion file set) in data_files.yaml."""

    title: str = Field(description="What the files are, with their authors.")
    source: str | None = Field(description="Where they are published (repository and path); "
                                           "null: no public source known.")
    images: str | None = Field(None, description="Where the images are published.")
    licence: str | None = Field(description="The licence terms as the source states them.")
    files: dict[str, ExpectedFile] = Field(description="Path under the data root -> what a "
                                                       "correct copy holds.")


@cache
def published_data() -> dict[str, PublishedData]:
    raw = yaml.safe_load((Path(__file__).parent / "data_files.yaml").read_text(encoding="utf-8"))
    return {name: PublishedData(**entry) for name, entry in raw.items()}


def count_units(path: Path, unit: Unit) -> int:
    """The file's count in `unit` (see ExpectedFile.unit)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if unit == "sentences":
        return sum(1 for line in text.splitlines() if line.startswith("IMGID:"))
    if unit == "labels":
        try:
            return len(json.loads(text))
        except json.JSONDecodeError as error:
            raise CotpdError(f"{path}: not JSON ({error})") from None
    return sum(1 for line in text.splitlines() if line.strip())


@dataclass
class FileCheck:
    dataset: str
    path: str  # under the data root
    status: Status
    detail: str


def verify_root(root: Path, datasets: list[str] | None = None,
                records: dict[str, PublishedData] | None = None) -> list[FileCheck]:
    """Check every recorded file of the chosen datasets (default: those with a file under
    `root`) for presence, count and sha256; `records` default: data_files.yaml."""
    known = published_data() if records is None else records
    unknown = [d for d in datasets or [] if d not in known]
    if unknown:
        raise CotpdError(f"unknown dataset(s) {', '.join(unknown)} (recorded: "
                         f"{', '.join(known)})")
    if not root.is_dir():
        raise CotpdError(f"{root}: not a folder; give the data root, the folder that holds "
                         "one folder per dataset")
    chosen = datasets or [name for name, data in known.items()
                          if any((root / path).exists() for path in data.files)]
    return [_check(root, name, path, expected)
            for name in chosen for path, expected in known[name].files.items()]


def _check(root: Path, dataset: str, path: str, expected: ExpectedFile) -> FileCheck:
    file = root / path
    if not file.is_file():
        return FileCheck(dataset, path, "missing", "not found")
    count = count_units(file, expected.unit)
    if expected.count is not None and count != expected.count:
        return FileCheck(dataset, path, "different",
                         f"{count} {expected.unit}, expected {expected.count}")
    if expected.sha256 is None:
        return FileCheck(dataset, path, "unrecorded",
                         f"{count} {expected.unit}; no sha256 recorded to compare")
    digest = sha256_file(file)
    if digest != expected.sha256:
        return FileCheck(dataset, path, "different", f"sha256 {digest[:12]}..., expected "
                                                     f"{expected.sha256[:12]}...")
    return FileCheck(dataset, path, "ok", f"{count} {expected.unit}, sha256 matches")
