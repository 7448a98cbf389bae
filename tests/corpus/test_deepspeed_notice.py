"""DeepSpeed's "Setting accelerator to CPU" notice: moved to the log on a machine without a
GPU driver, shown where one is present; every other DeepSpeed message passes."""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from cotpd.corpus import deepspeed_notice

REPO = Path(__file__).resolve().parents[2]
NOTICE = ("Setting accelerator to CPU. If you have GPU or other accelerator, we were unable to "
          "detect it.")


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord("DeepSpeed", logging.WARNING, __file__, 1, message, None, None)


def test_only_the_cpu_notice_is_moved_and_only_without_a_gpu_driver(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    keep = deepspeed_notice._move_cpu_notice
    monkeypatch.setattr(deepspeed_notice, "NVIDIA_DRIVER", tmp_path / "absent")
    with caplog.at_level(logging.DEBUG, logger="cotpd.corpus.deepspeed_notice"):
        assert not keep(record(NOTICE))
    assert [r.getMessage() for r in caplog.records] == [f"DeepSpeed: {NOTICE}"]
    assert keep(record("ZeRO stage 3 does not support this optimizer"))
    monkeypatch.setattr(deepspeed_notice, "NVIDIA_DRIVER", tmp_path)  # a driver: a real warning
    assert keep(record(NOTICE))
    assert keep in logging.getLogger("DeepSpeed").filters  # installed when corpus is imported


@pytest.mark.skipif(importlib.util.find_spec("deepspeed") is None, reason="deepspeed absent")
@pytest.mark.skipif(deepspeed_notice.NVIDIA_DRIVER.exists(),
                    reason="a GPU driver is present: the notice is a real warning here")
def test_a_command_that_imports_deepspeed_does_not_print_the_notice() -> None:
    result = subprocess.run([sys.executable, "-m", "cotpd.pipeline.cli", "doctor"], cwd=REPO,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert " deepspeed " in result.stdout  # doctor imported it
    assert "Setting accelerator" not in result.stdout + result.stderr
