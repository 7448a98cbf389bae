"""The corpus stage's config section."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from corpus.errors import CotpdError
from corpus.registry import get_dataset
from corpus.schema import StrictModel


class DataConfig(StrictModel):
    """Which dataset a run reads, and where the data root is."""

    dataset: str = Field(description="A registered dataset name (`cotpd data list`).")
    data_root: Path | None = Field(
        None, description="Folder holding one folder per dataset; None: $COTPD_DATA_ROOT "
                          "(--data-root overrides both).")
    test_dataset: str | None = Field(
        None, description="Cross-domain runs: train and select on `dataset`, test on this "
                          "dataset's test split; None: `dataset`'s own.")
    label_map: dict[str, str] = Field(
        {}, description="Entity-type renames applied to every split, e.g. {OTHER: MISC} so "
                        "that Twitter-2015 and Twitter-2017 share one label set.")

    @field_validator("dataset", "test_dataset")
    @classmethod
    def _known_dataset(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            get_dataset(value)
        except CotpdError as error:  # pydantic reports ValueErrors with the key's location
            raise ValueError(str(error)) from None
        return value
