"""Atomic file writes and JSON-lines sample files, shared by every stage's outputs."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from corpus.errors import DataFormatError
from corpus.records import Sample, sample_from_dict


@contextmanager
def atomic_writer(path: str | Path, mode: str = "wb") -> Iterator[IO]:
    """A file handle whose content appears at `path` only when the block ends cleanly:
    written to a temporary file beside it, fsynced, then renamed. Never a half file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_writer(path) as handle:
        handle.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def write_samples_jsonl(path: str | Path, samples: Iterable[Sample]) -> None:
    lines = (json.dumps(s.to_dict(), ensure_ascii=False) + "\n" for s in samples)
    atomic_write_text(path, "".join(lines))


def read_samples_jsonl(path: str | Path) -> list[Sample]:
    samples = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                samples.append(sample_from_dict(json.loads(line)))
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise DataFormatError(path, number, f"an unreadable sample ({error})",
                                      "one sample JSON object per line, as "
                                      "`cotpd data prepare` writes") from None
    return samples
