"""Turning what a user typed (a dataset name, a folder or a file) into a dataset spec."""

from __future__ import annotations

from pathlib import Path

from cotpd.corpus.errors import CotpdError
from cotpd.corpus.registry import DatasetSpec, SplitName, load_registry

SPLIT_HINTS: dict[SplitName, tuple[str, ...]] = {
    "train": ("train",),
    "dev": ("dev", "val"),
    "test": ("test",),
}


def sniff_format(path: Path) -> str:
    """'conll' or 'mnre', from the first non-blank line of a file."""
    with open(path, "rb") as handle:
        for raw in handle:
            line = raw.decode("utf-8", errors="replace").lstrip("\ufeff").strip()
            if line:
                # CoNLL lines start with IMGID or hold a tab; anything else is read as MNRE.
                return "conll" if line.startswith("IMGID:") or "\t" in line else "mnre"
    raise CotpdError(f"{path}: empty file; expected a CoNLL+IMGID or an MNRE split")


def spec_for_folder(folder: Path) -> DatasetSpec:
    """A registered dataset whose folder name matches, else one inferred from file names."""
    for spec in load_registry().values():
        if folder.name == spec.directory and any((folder / f).is_file()
                                                 for f in spec.splits.values()):
            return spec.model_copy(update={"bundled": False})
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix == ".txt")
    splits: dict[SplitName, str] = {}
    for split, hints in SPLIT_HINTS.items():
        for path in files:
            if any(h in path.name.lower() for h in hints) and split not in splits:
                splits[split] = path.name
    if not splits:
        raise CotpdError(f"{folder}: no split files found; expected .txt files whose names "
                         "contain train, dev/val or test")
    fmt = sniff_format(folder / next(iter(splits.values())))
    return DatasetSpec(name=folder.name, task="mre" if fmt == "mnre" else "mner", format=fmt,
                       directory=folder.name, splits=splits)


def spec_for_file(path: Path) -> DatasetSpec:
    fmt = sniff_format(path)
    return DatasetSpec(name=path.stem, task="mre" if fmt == "mnre" else "mner", format=fmt,
                       directory=path.parent.name, splits={"train": path.name})
