"""The study's own log, `<study_dir>/study.log`: when the study started and ended, which
cells ran, were kept or not selected, how long each took, and what failed, with every
warning of its runs. Each run's stages keep their full logs in the run directory."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import click
from cotpd.pipeline.logs import FILE_ONLY, log_to_file

STUDY_LOG = "study.log"
logger = logging.getLogger(__name__)
_FILE = {FILE_ONLY: True}  # the console has these lines already (echo) or needs none


def _study_record(record: logging.LogRecord) -> bool:
    return record.name == logger.name or record.levelno >= logging.WARNING


def study_echo(line: str) -> None:
    """A line of the study's progress: on the console and in study.log."""
    logger.info("%s", line, extra=_FILE)
    click.echo(line)


@contextlib.contextmanager
def study_log(directory: Path, name: str) -> Iterator[Path]:
    """Append the study's records to `<directory>/study.log` while the block runs."""
    with log_to_file(directory / STUDY_LOG, keep=_study_record) as path:
        logger.info("study %s started: %s", name, " ".join(sys.argv), extra=_FILE)
        began = time.perf_counter()
        try:
            yield path
        except BaseException as error:
            logger.error("study %s failed after %.1f s: %s", name,
                         time.perf_counter() - began, error, extra=_FILE)
            raise
        logger.info("study %s done in %.1f s", name, time.perf_counter() - began, extra=_FILE)


@contextlib.contextmanager
def timed_cell(name: str) -> Iterator[None]:
    """One cell's run: how long it took, or that it failed (the error goes on up)."""
    began = time.perf_counter()
    try:
        yield
    except BaseException as error:
        logger.error("%s failed after %.1f s: %s", name, time.perf_counter() - began, error,
                     extra=_FILE)
        raise
    logger.info("%s ran in %.1f s", name, time.perf_counter() - began, extra=_FILE)
