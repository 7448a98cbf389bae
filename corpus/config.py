"""The corpus stage's config section."""

from __future__ import annotations

from pathlib import Path

from pydantic import field_validator, model_validator

from corpus.errors import CotpdError
from corpus.registry import get_dataset
from corpus.schema import StrictModel


class DataConfig(StrictModel):
    """Which dataset a run reads, and where the data root is."""

    dataset: str
    # Root folder holding one folder per dataset; falls back to $COTPD_DATA_ROOT.
    data_root: Path | None = None
    # Cross-domain runs (the paper's Table 4): train and select on `dataset`, test on this
    # dataset's test split.
    test_dataset: str | None = None
    # Entity-type renames applied to every split, e.g. {OTHER: MISC} so that Twitter-2015
    # and Twitter-2017 share one label set.
    label_map: dict[str, str] = {}
    # A labelled subset of the training split, by fraction (0 < f <= 1) or by count; the
    # subset is drawn by `labelled_seed`, and a smaller fraction with the same seed is a
    # subset of a larger one. Unset: the whole split.
    labelled_fraction: float | None = None
    labelled_count: int | None = None
    labelled_seed: int = 0
    # The training sentences left out of the labelled subset become the run's unlabelled
    # split (labels dropped; captions and knowledge as for any split), for distillation.
    rest_as_unlabelled: bool = False
    # More unlabelled sentences: plain text (one sentence per line) or JSONL files. Dev and
    # test sentences, labelled ones and repeats are dropped and counted.
    unlabelled: list[Path] = []

    @model_validator(mode="after")
    def _one_subset_size(self) -> DataConfig:
        if self.labelled_fraction is not None and self.labelled_count is not None:
            raise ValueError("give data.labelled_fraction or data.labelled_count, not both")
        if self.labelled_fraction is not None and not 0 < self.labelled_fraction <= 1:
            raise ValueError(f"data.labelled_fraction = {self.labelled_fraction}; expected a "
                             "fraction in (0, 1]")
        if self.labelled_count is not None and self.labelled_count < 1:
            raise ValueError(f"data.labelled_count = {self.labelled_count}; expected >= 1")
        if self.rest_as_unlabelled and self.labelled_fraction is None and (
                self.labelled_count is None):
            raise ValueError("data.rest_as_unlabelled needs data.labelled_fraction or "
                             "data.labelled_count (otherwise no training sentence is left)")
        return self

    @property
    def has_unlabelled(self) -> bool:
        """Whether the run gets an unlabelled split."""
        return self.rest_as_unlabelled or bool(self.unlabelled)

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
