"""Logging for the `cotpd` command: messages on the console and, while a stage runs, in
`<run>/logs/<stage>.log`.

Stages only ask for `logging.getLogger(__name__)`; the handlers live here. On the console,
info and debug go to stdout (where the commands print their summaries) and warnings and
errors to stderr, so an error stays the one line a failing command writes there. Progress
bars stay, except under --quiet (corpus.progress): console lines are written around them.
The log file holds every level of the project's own messages, other libraries' warnings,
and the summaries the command printed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from tqdm import tqdm

# The project's packages: their loggers pass everything on, the handlers choose what shows.
PACKAGES = ("cotpd",)  # every project logger sits under it
FILE_ONLY = "cotpd_file_only"  # a record's attribute: already on the console, log it only
FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class ConsoleHandler(logging.Handler):
    """Info and debug to stdout, warnings and errors to stderr. The stream is looked up per
    record, so a sys.stdout swapped later (tests, notebooks) is the one written to."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = sys.stderr if record.levelno >= logging.WARNING else sys.stdout
            tqdm.write(self.format(record), file=stream)  # clears a live bar, then redraws it
        except Exception:  # logging's own rule: a handler never raises
            self.handleError(record)


def _not_file_only(record: logging.LogRecord) -> bool:
    return not getattr(record, FILE_ONLY, False)


def _open_project_loggers() -> None:
    for package in PACKAGES:
        logging.getLogger(package).setLevel(logging.DEBUG)


def configure_console(quiet: bool = False, verbose: bool = False) -> int:
    """One console handler on the root logger (replacing an earlier one): warnings only when
    `quiet`, debug too when `verbose`, else info. Processes other than rank 0 of a
    distributed training show warnings only. Returns the console's level."""
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    if int(os.environ.get("RANK", "0")) != 0:
        level = max(level, logging.WARNING)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, ConsoleHandler)]:
        root.removeHandler(handler)
    handler = ConsoleHandler(level)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(_not_file_only)
    root.addHandler(handler)
    _open_project_loggers()
    return level


def ensure_console() -> None:
    """A console at info when nothing configured one (the stages called from Python)."""
    if not any(isinstance(h, ConsoleHandler) for h in logging.getLogger().handlers):
        configure_console()


@contextlib.contextmanager
def log_to_file(path: Path, keep: Callable[[logging.LogRecord], bool] | None = None
                ) -> Iterator[Path]:
    """Every record while the block runs (or those `keep` accepts) is appended to `path` (a
    re-run adds to the record of the earlier ones)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter(FILE_FORMAT))
    if keep is not None:
        handler.addFilter(keep)
    root = logging.getLogger()
    ensure_console()
    root.addHandler(handler)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()
