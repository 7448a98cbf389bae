"""Whether progress bars show. `cotpd --quiet` turns them off: the project's own bars and
the ones transformers and huggingface_hub draw (loading weights, the Trainer). The switch is
an environment variable, so a worker process (the LAVIS worker) inherits it; stages read it
here and never import the pipeline."""

from __future__ import annotations

import os
import sys
from typing import Any

from tqdm import tqdm

PROGRESS_ENV = "COTPD_PROGRESS"  # "0": no progress bars
_libraries_quieted = False  # whether this process turned the libraries' bars off


def progress_enabled() -> bool:
    return os.environ.get(PROGRESS_ENV, "1") != "0"


def progress_bar(**kwargs: Any) -> tqdm:
    """A tqdm bar that stays hidden when progress bars are off."""
    return tqdm(disable=not progress_enabled(), **kwargs)


def set_progress(enabled: bool) -> None:
    """Turn every progress bar of this process (and of the processes it starts) on or off."""
    global _libraries_quieted
    os.environ[PROGRESS_ENV] = "1" if enabled else "0"
    if not enabled:
        # transformers copies huggingface_hub's setting when it is first imported; a
        # transformers already imported is told directly.
        _hub_progress(False)
        _transformers_progress(False)
        _libraries_quieted = True
    elif _libraries_quieted:  # only what this module turned off is turned back on
        _hub_progress(True)
        _transformers_progress(True)
        _libraries_quieted = False


def apply_progress_from_env() -> None:
    """In a worker process: the libraries' bars follow the switch the parent set."""
    if not progress_enabled():
        set_progress(False)


def _hub_progress(enabled: bool) -> None:
    try:
        from huggingface_hub.utils import disable_progress_bars, enable_progress_bars
    except ImportError:  # not installed, or older than its switch (the LAVIS environment)
        return
    if enabled:
        enable_progress_bars()
    else:
        disable_progress_bars()


def _transformers_progress(enabled: bool) -> None:
    if "transformers" not in sys.modules:
        return
    from transformers.utils import logging as transformers_logging

    if enabled:
        transformers_logging.enable_progress_bar()
    else:
        transformers_logging.disable_progress_bar()
