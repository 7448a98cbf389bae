"""Decoding dataset files with errors that point at the offending line."""

from __future__ import annotations

from pathlib import Path

from cotpd.corpus.errors import DataFormatError

UTF8_BOM = b"\xef\xbb\xbf"


def decode_lines(path: Path, raw: bytes) -> tuple[list[str], str]:
    """UTF-8 text split into lines, and the file's newline ("\\n" or "\\r\\n").

    A byte-order mark, undecodable bytes or mixed line endings are errors naming the line.
    """
    if raw.startswith(UTF8_BOM):
        raise DataFormatError(path, 1, "a UTF-8 byte-order mark at the start of the file",
                              "UTF-8 without a BOM (remove the first 3 bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        bad = raw[error.start:error.start + 4]
        raise DataFormatError(path, line, f"bytes {bad!r} that are not UTF-8 ({error.reason})",
                              "UTF-8 text (re-encode the file, e.g. iconv -f latin1 -t utf-8)"
                              ) from None
    if "\x00" in text:  # a zero-filled block is the usual trace of a crash mid-write
        at = text.index("\x00")
        line = text.count("\n", 0, at) + 1
        raise DataFormatError(path, line, "a NUL byte (a binary or crash-damaged file)",
                              "text without NUL bytes")
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if newline == "\r\n":
        for number, line in enumerate(lines, start=1):
            if not line.endswith("\r"):
                raise DataFormatError(path, number, "a line ending in LF in a CRLF file",
                                      "one line ending throughout the file")
        lines = [line[:-1] for line in lines]
    for number, line in enumerate(lines, start=1):
        if "\r" in line:
            raise DataFormatError(path, number, "a carriage return inside a line",
                                  "lines ending in LF or CRLF")
    return lines, newline
