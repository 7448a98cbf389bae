"""The `augment:` config section: defaults, strict keys, checked values, and the student's
error when the augmented file is missing."""

from pathlib import Path

import pytest
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.run_files import read_augmented
from cotpd.pipeline.config import ConfigError, load_run_config

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "configs" / "demo_mner.yaml"


def test_the_section_is_optional_and_validated_with_defaults() -> None:
    assert load_run_config(DEMO).augment is None
    config = load_run_config(DEMO, ["augment.times.style=2", "augment.entity_source=zero_shot"])
    assert config.augment.times.style == 2 and config.augment.times.image == 0
    assert config.augment.entity_source == "zero_shot" and config.augment.factual_check
    assert config.augment.zero_shot_list_size == 400 and config.augment.seed == 0


def test_an_unknown_key_names_the_closest_valid_one() -> None:
    with pytest.raises(ConfigError, match=r"augment\.times\.stlye.*augment\.times\.style"):
        load_run_config(DEMO, ["augment.times.stlye=1"])


@pytest.mark.parametrize("override, key", [
    ("augment.times.entity=-1", "augment.times.entity"),
    ("augment.entity_source=web", "augment.entity_source"),
    ("augment.factual_check=perhaps", "augment.factual_check"),
    ("augment.sources=0", "augment.sources"),
])
def test_bad_values_name_their_key(override: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_run_config(DEMO, [override])


def test_the_low_resource_base_config_validates() -> None:
    config = load_run_config(REPO / "configs" / "low_resource" / "base.yaml",
                             ["augment.times.style=1"])
    assert config.data.dataset == "twitter2017" and config.student.variant == "text"


def test_training_with_an_augment_section_needs_the_augmented_file(tmp_path: Path) -> None:
    config = load_run_config(DEMO, ["augment.times.style=1"])
    with pytest.raises(CotpdError, match=r"augment/train\.jsonl is missing.*cotpd augment"):
        read_augmented(tmp_path, config.augment is not None)
    assert load_run_config(DEMO).augment is None
    assert read_augmented(tmp_path, expected=False) is None


def test_an_augment_section_with_nothing_to_do_is_an_error(tmp_path: Path) -> None:
    from cotpd.augment.stage import run as run_augment

    config = load_run_config(DEMO, [f"run.output_dir={tmp_path}", "augment.seed=1"])
    with pytest.raises(CotpdError, match="every type is 0"):
        run_augment(config.augment, config.data, config.run.directory,
                    teacher_config=config.teacher)
