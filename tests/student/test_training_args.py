"""`student.train` takes any field of transformers' TrainingArguments beside cotpd's own keys,
checked by name when the config is read."""

from __future__ import annotations

from pathlib import Path

import pytest
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.schema import config_to_yaml
from cotpd.pipeline.config import ConfigError, load_run_config
from cotpd.student.config import StudentConfig
from cotpd.student.train import training_arguments

DEMO = Path(__file__).resolve().parents[2] / "configs" / "demo_mner.yaml"


def arguments(tmp_path: Path, **train: object):
    config = StudentConfig.model_validate({"train": train})
    return training_arguments(config, tmp_path / "checkpoints", seed=7)


def test_cotpd_keys_stay_the_defaults(tmp_path: Path) -> None:
    args = arguments(tmp_path, epochs=3, batch_size=4, gradient_accumulation=2)
    assert (args.num_train_epochs, args.per_device_train_batch_size) == (3, 4)
    assert args.gradient_accumulation_steps == 2 and args.save_total_limit == 2
    assert args.lr_scheduler_type == "linear" and args.max_grad_norm == 1.0
    assert (args.seed, args.data_seed, args.metric_for_best_model) == (7, 7, "f1")


def test_any_other_training_argument_reaches_the_trainer(tmp_path: Path) -> None:
    args = arguments(tmp_path, lr_scheduler_type="cosine", max_grad_norm=0.5,
                     save_total_limit=1, adam_beta2=0.98, optim="adamw_torch")
    assert args.lr_scheduler_type == "cosine" and args.max_grad_norm == 0.5
    assert args.save_total_limit == 1 and args.adam_beta2 == 0.98
    assert args.optim == "adamw_torch"
    assert args.metric_for_best_model == "f1"  # what the stage fixes is untouched


def test_set_keys_are_in_the_resolved_config() -> None:
    config = load_run_config(DEMO, ["student.train.lr_scheduler_type=cosine"])
    assert "lr_scheduler_type: cosine" in config_to_yaml(config)
    assert config.student.train.model_extra == {"lr_scheduler_type": "cosine"}


@pytest.mark.parametrize(("setting", "message"), [
    ("lr_sheduler_type=cosine", r"unknown key 'lr_sheduler_type'.*did you mean "
                                r"'lr_scheduler_type'"),
    ("max_grad_nrom=0.5", r"did you mean 'max_grad_norm'"),
    ("num_train_epochs=3", r"'num_train_epochs' is set by student.train.epochs"),
    ("per_device_train_batch_size=8", r"set by student.train.batch_size"),
    ("output_dir=/tmp/x", r"'output_dir' cannot be set: the run directory decides it"),
    ("metric_for_best_model=loss", r"the student is the best on dev F1"),
    ("push_to_hub=true", r"never reaches a model hub"),
])
def test_a_wrong_key_is_named_when_the_config_is_read(setting: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"student\.train: .*" + message):
        load_run_config(DEMO, [f"student.train.{setting}"])


def test_a_value_transformers_refuses_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(CotpdError, match=r"^student.train: transformers' TrainingArguments "
                                         r"refused.*nope"):
        arguments(tmp_path, lr_scheduler_type="nope")
