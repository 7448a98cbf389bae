"""What every stage returns, and the shape of its entry point.

Each stage package has a `stage.py` whose `run(config, data, run_dir, *, ...)` takes the
stage's own config section, the data config and the run directory (whatever else it needs
keyword-only) and returns a `StageResult`, so the pipeline reads every stage one way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from cotpd.corpus.config import DataConfig

STAGE_ENTRY = "run"  # the entry point's name in every stage module
STAGE_PARAMETERS = ("config", "data", "run_dir")  # its positional parameters, in order


@dataclass(frozen=True)
class StageResult:
    """What a stage did. `fingerprints` are the sha256s of the data files it read, for its
    manifest (None: it wrote nothing, so it leaves no manifest); `summary` holds the
    stage's own figures, as its summary file has them."""

    stage: str
    outputs: dict[str, Path]
    counts: dict[str, int]
    fingerprints: dict[str, str] | None
    seconds: float
    summary: dict[str, Any] = field(default_factory=dict)


class Stage(Protocol):
    """A stage's `run`: its config section, the data config, the run directory."""

    def __call__(self, config: Any, data: DataConfig, run_dir: Path, /,
                 **options: Any) -> StageResult: ...
