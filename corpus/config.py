"""The corpus stage's config section."""

from __future__ import annotations

from pathlib import Path

from cotpd.corpus.errors import CotpdError
from cotpd.corpus.registry import get_dataset
from cotpd.corpus.schema import StrictModel, added_later
from pydantic import Field, field_validator, model_validator


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
    dev_from_train_fraction: float | None = added_later(
        None, description="Hold out this fraction (0 < f < 1) of the training split as the "
                          "run's dev split, drawn by dev_from_train_seed whole sentences at "
                          "a time (an MNRE tweet's instances stay together); the dataset's "
                          "own dev split is then evaluated as `official_dev`. None: the "
                          "dataset's dev split selects.")
    dev_from_train_seed: int = added_later(
        0, description="Seed of the held-out dev draw (apart from run.seed, so training "
                       "seeds share it).")
    labelled_fraction: float | None = Field(
        None, description="Keep this fraction (0 < f <= 1) of the training split labelled, "
                          "drawn by labelled_seed (a smaller fraction with the same seed is "
                          "a subset of a larger one; MRE draws whole tweets, all of a "
                          "tweet's instances together, so a few more may be kept); None: "
                          "the whole split.")
    labelled_count: int | None = Field(
        None, description="Keep this many training samples labelled (instead of a "
                          "fraction); None: the whole split.")
    labelled_seed: int = Field(0, description="Seed of the labelled subset's draw (apart "
                                              "from run.seed, so training seeds share it).")
    rest_as_unlabelled: bool = Field(
        False, description="The training sentences left out of the labelled subset become "
                           "the run's unlabelled split (labels dropped; captions and "
                           "knowledge as for any split), learnt from by distillation only.")
    unlabelled: list[Path] = Field(
        [], description="Files of unlabelled sentences for the run's unlabelled split: "
                        "plain text, one sentence per line, or JSONL. Dev and test "
                        "sentences, labelled ones and repeats are dropped and counted.")

    @model_validator(mode="after")
    def _one_subset_size(self) -> DataConfig:
        if self.dev_from_train_fraction is not None and not 0 < self.dev_from_train_fraction < 1:
            raise ValueError(f"data.dev_from_train_fraction = {self.dev_from_train_fraction}; "
                             "expected a fraction in (0, 1)")
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

    def images_dir(self) -> Path:
        """The dataset's images folder under the data root (`images` unless the registry
        names another): where captioners and vision teachers read."""
        spec = get_dataset(self.dataset)
        return spec.directory_under(self.data_root) / (spec.images or "images")

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
