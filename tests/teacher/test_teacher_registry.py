"""Teacher backends by registry: every backend name a config may give resolves to its class,
an unknown one is refused naming the valid ones, modules load only when chosen, and a backend
registered elsewhere (here: in this file) is usable through the config like the others."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.records import MnerSample
from cotpd.pipeline.config import ConfigError, RunConfig, validate
from cotpd.teacher import registry
from cotpd.teacher.backend import (
    GenerationRequest,
    GenerationResult,
    ResultCallback,
    SamplingParams,
)
from cotpd.teacher.catalogue import load_catalogue
from cotpd.teacher.config import TeacherConfig
from cotpd.teacher.factory import build_teacher
from cotpd.teacher.runner import run_prompt
from cotpd.teacher.store import KnowledgeStore

REPO = Path(__file__).resolve().parents[2]
CONFIG_NAMES = ("embedded", "import", "openai", "transformers", "vllm")


def test_every_config_backend_name_resolves_to_its_module_class() -> None:
    assert registry.backend_names() == CONFIG_NAMES
    for name in CONFIG_NAMES:
        cls = registry.backend_class(name)
        assert cls.__module__ == f"cotpd.teacher.{name}_backend"
        assert callable(cls.from_config)
        assert TeacherConfig(backend=name).backend == name


def test_resolving_vllm_imports_no_vllm() -> None:
    registry.backend_class("vllm")
    assert "vllm" not in sys.modules  # imported when the engine is made, not before


def test_listing_and_validating_import_no_backend_module() -> None:
    """Config validation (every command does it) stays cheap: no torch, HTTP client or
    backend module is imported until a backend is built."""
    code = ("import sys; from cotpd.teacher.config import TeacherConfig; "
            "TeacherConfig(backend='vllm'); TeacherConfig(backend='openai'); "
            "print(sorted(m for m in sys.modules if m.endswith('_backend') "
            "or m.split('.')[0] in ('torch', 'openai', 'llama_index', 'vllm')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"


def test_an_unknown_backend_is_refused_naming_the_valid_ones() -> None:
    valid = r"\(valid: embedded, import, openai, transformers, vllm\)"
    with pytest.raises(ValueError, match=r"unknown teacher backend 'vlm'; did you mean 'vllm'\? "
                                         + valid):
        TeacherConfig(backend="vlm")
    with pytest.raises(CotpdError, match="valid: embedded, import, openai, transformers, vllm"):
        registry.backend_class("gpt4")


def test_an_unknown_backend_in_a_run_config_names_its_key() -> None:
    with pytest.raises(ConfigError, match=r"teacher\.backend: .*unknown teacher backend 'ollama'"
                                          r".*\(valid: embedded, import"):
        validate(RunConfig, {"data": {"dataset": "demo_mner"},
                             "teacher": {"backend": "ollama"}}, "run.yaml")


def test_the_import_backend_refuses_to_answer_prompts() -> None:
    with pytest.raises(CotpdError, match="answers no prompts"):
        build_teacher(TeacherConfig(backend="import"))


def test_a_name_registered_twice_is_refused() -> None:
    class Other:
        @classmethod
        def from_config(cls, config: Any, sampling: SamplingParams) -> Any:
            return cls()

    with pytest.raises(ValueError, match="registered twice"):
        registry.register_backend("openai")(Other)
    with pytest.raises(TypeError, match="no from_config"):
        registry.register_backend("nothing")(type("Nothing", (), {}))


class EchoBackend:
    """A whole backend outside the teacher package: answers each prompt with its last
    line, upper-cased."""

    name = "echo"

    def __init__(self, sampling: SamplingParams, shout: bool) -> None:
        self.sampling, self.shout = sampling, shout

    @classmethod
    def from_config(cls, config: TeacherConfig, sampling: SamplingParams) -> EchoBackend:
        return cls(sampling, shout=config.style == "completion")

    def fingerprint_parts(self) -> dict[str, Any]:
        return {"backend": self.name, "shout": self.shout, "seed": self.sampling.seed}

    def generate(self, requests: Sequence[GenerationRequest], on_result: ResultCallback) -> None:
        for request in requests:
            line = (request.prompt or "").rstrip().splitlines()[-1]
            on_result(request, GenerationResult(text=line.upper() if self.shout else line,
                                                finish_reason="stop"))


@pytest.fixture
def echo_registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A copy of the registry, so the registration ends with the test.
    monkeypatch.setattr(registry, "BACKENDS", registry.BACKENDS.copy())
    registry.register_backend("echo")(EchoBackend)
    yield


def test_a_backend_registered_elsewhere_is_usable(echo_registered: None, tmp_path: Path) -> None:
    config = TeacherConfig(name="echo-teacher", backend="echo")
    assert "echo" in registry.backend_names()
    teacher = build_teacher(config)
    assert isinstance(teacher.backend, EchoBackend) and teacher.backend.shout
    sample = MnerSample(id="s1", tokens=["Obama", "visits", "Paris"],
                        labels=["B-PER", "O", "B-LOC"], image_id="s1.jpg")
    prompt = load_catalogue()["sentence"]
    with KnowledgeStore(tmp_path / "store.sqlite") as store:
        counts = run_prompt([sample], prompt, teacher, store)
        row = store.get(teacher.fingerprint, "sentence", prompt.version_hash("completion"), "s1")
    assert (counts.answered, counts.failed) == (1, 0)
    assert row is not None and row.error is None and row.text.isupper() and row.text


def test_an_unregistered_name_is_refused_again_after_the_test() -> None:
    with pytest.raises(ValueError, match="unknown teacher backend 'echo'"):
        TeacherConfig(backend="echo")
