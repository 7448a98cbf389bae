"""DeepSpeed, once imported (transformers and accelerate import it where it is installed;
`cotpd doctor` checks it), prints "Setting accelerator to CPU ..." on stdout from its own
logger on a machine with no GPU driver. There CPU is expected, so the notice goes to the
project's log at debug level instead; with a GPU driver present it is a real warning and
shows, as does every other DeepSpeed message."""

from __future__ import annotations

import logging
from pathlib import Path

CPU_NOTICE = "Setting accelerator to CPU."
DEEPSPEED_LOGGER = "DeepSpeed"  # the name deepspeed.utils.logging gives its logger
NVIDIA_DRIVER = Path("/proc/driver/nvidia")  # present wherever an NVIDIA GPU could be used

logger = logging.getLogger(__name__)


def _move_cpu_notice(record: logging.LogRecord) -> bool:
    """Keep every record but the CPU notice on a machine without a GPU driver."""
    message = record.getMessage()
    if not message.startswith(CPU_NOTICE) or NVIDIA_DRIVER.exists():
        return True
    logger.debug("DeepSpeed: %s", message)
    return False


def move_deepspeed_cpu_notice() -> None:
    """Filter DeepSpeed's logger; before deepspeed is imported too (its logger keeps the
    filters of the logger object it takes over)."""
    deepspeed = logging.getLogger(DEEPSPEED_LOGGER)
    if _move_cpu_notice not in deepspeed.filters:
        deepspeed.addFilter(_move_cpu_notice)
