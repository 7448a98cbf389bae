"""Log records across the LAVIS worker's process boundary: the worker writes each record as
one JSON line to a pipe the parent opened, and the parent hands it to its own loggers, so
the worker's messages reach the console at the command's level and `<run>/logs/caption.log`
like the parent's own. Only the standard library: both environments import it."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from typing import IO

PROJECT_LOGGER = "cotpd"


class RecordPipeHandler(logging.Handler):
    """Writes each record as a JSON line; the parent's handlers format it."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__(logging.DEBUG)
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info:  # a traceback cannot cross as an object: as text
                message += "\n" + logging.Formatter().formatException(record.exc_info)
            line = {"name": record.name, "levelno": record.levelno,
                    "levelname": record.levelname, "msg": message, "created": record.created,
                    "pathname": record.pathname, "lineno": record.lineno,
                    "funcName": record.funcName}
            self.stream.write(json.dumps(line) + "\n")
            self.stream.flush()
        except Exception:  # logging's own rule: a handler never raises
            self.handleError(record)


def send_records_to(fd: int) -> None:
    """In the worker: every project record (all levels) and other libraries' warnings go to
    the pipe `fd`, and nowhere else."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(RecordPipeHandler(os.fdopen(fd, "w", encoding="utf-8", buffering=1)))
    logging.getLogger(PROJECT_LOGGER).setLevel(logging.DEBUG)


def forward_records(lines: Iterable[str]) -> None:
    """In the parent: each line the worker wrote, through this process's loggers."""
    for line in lines:
        try:
            fields = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by a killed worker
        record = logging.makeLogRecord({**fields, "args": None, "exc_info": None})
        logging.getLogger(record.name).handle(record)
