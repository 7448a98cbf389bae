"""Atomic file writes and JSON-lines sample files, shared by every stage's outputs."""

from __future__ import annotations

import json
import os
import re
import socket
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from cotpd.corpus.errors import DataFormatError
from cotpd.corpus.records import Sample, sample_from_dict

# `.<name>.<pid>-<host>.<random>.tmp`: the writer is named, so a temporary whose writer died
# (SIGKILL between creating and renaming it) can be told from one being written right now.
_TEMPORARY = re.compile(r"^\..+\.(\d+)-([0-9a-f]{8})\.[a-z0-9_]{8}\.tmp$")


def _umask() -> int:
    """The process's umask, read without changing it (Linux), else by setting it back."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _host_tag() -> str:
    return f"{zlib.crc32(socket.gethostname().encode()):08x}"


def _writer_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def remove_stale_temporaries(folder: str | Path, recursive: bool = True) -> list[Path]:
    """Remove the temporary files of atomic writes in `folder` (and below, when
    `recursive`) whose writer, a process of this host, is gone (killed between creating and
    renaming them); returns them. A temporary of a live writer, or of another host's, is
    left alone."""
    removed: list[Path] = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for path in (folder.rglob if recursive else folder.glob)(".*.tmp"):
        match = _TEMPORARY.match(path.name)
        if match and match.group(2) == _host_tag() and not _writer_alive(int(match.group(1))):
            try:
                path.unlink(missing_ok=True)
            except OSError:  # a read-only folder: the write that follows says so
                continue
            removed.append(path)
    return removed


@contextmanager
def atomic_writer(path: str | Path, mode: str = "wb") -> Iterator[IO]:
    """A file handle whose content appears at `path` only when the block ends cleanly:
    written to a temporary file beside it, fsynced, then renamed. Never a half file; the
    temporaries that killed writers left in the folder are removed first (a resumed stage
    writes its files again, so a kill leaves nothing behind once the stage is re-run)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent, recursive=False)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp",
                                   prefix=f".{path.name}.{os.getpid()}-{_host_tag()}.")
    except OSError as error:  # a read-only folder: name the file the user asked for
        raise OSError(error.errno, error.strerror, str(path)) from None
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            os.fchmod(fd, 0o666 & ~_umask())  # as open() would make it, not mkstemp's 0600
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(error, OSError) and error.filename in (None, tmp):
            # a full disk fails the write itself, with no file name: name the target
            raise OSError(error.errno, error.strerror, str(path)) from error
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
