"""The progress-bar switch: off turns off the project's bars and transformers' (loading
weights, the Trainer's), also for a transformers imported before; on restores them."""

from __future__ import annotations

import os

import pytest
from cotpd.corpus.progress import PROGRESS_ENV, progress_bar, progress_enabled, set_progress


@pytest.fixture
def restore_progress():
    yield
    set_progress(True)


def test_off_and_on_again(restore_progress) -> None:
    from transformers.utils import logging as transformers_logging

    set_progress(False)
    assert os.environ[PROGRESS_ENV] == "0" and not progress_enabled()
    with progress_bar(total=3) as bar:
        assert bar.disable
    assert not transformers_logging.is_progress_bar_enabled()
    set_progress(True)
    with progress_bar(total=3) as bar:
        assert progress_enabled() and not bar.disable
    assert transformers_logging.is_progress_bar_enabled()
