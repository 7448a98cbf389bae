"""The corpus stage's config section."""

from __future__ import annotations

from pathlib import Path

from pydantic import field_validator

from corpus.errors import CotpdError
from corpus.registry import get_dataset
from corpus.schema import StrictModel


class DataConfig(StrictModel):
    """Which dataset a run reads, and where the data root is."""

    dataset: str
    # Root folder holding one folder per dataset; falls back to $COTPD_DATA_ROOT.
    data_root: Path | None = None

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, value: str) -> str:
        try:
            get_dataset(value)
        except CotpdError as error:  # pydantic reports ValueErrors with the key's location
            raise ValueError(str(error)) from None
        return value
