"""Errors a user can act on: the CLI prints them in one line and exits non-zero."""

from __future__ import annotations

from pathlib import Path


class CotpdError(Exception):
    """An error caused by input or configuration, shown without a traceback."""


class DataFormatError(CotpdError):
    """A dataset file that does not follow its format, located to the line."""

    def __init__(self, path: str | Path, line: int | None, found: str, expected: str) -> None:
        self.path = str(path)
        self.line = line
        self.found = found
        self.expected = expected
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: found {found}; expected {expected}")


def shorten(text: str, limit: int = 80) -> str:
    """Quote a piece of input for an error message, cut to `limit` characters."""
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return repr(text)
