"""vLLM's in-process engine: the whole batch in one `generate` call, the fastest path on a
GPU node. Needs vLLM installed (`pip install vllm`, in its own environment: it pins its own
torch release). Not exercised on CPU machines; `tests/teacher/test_vllm_backend.py` runs it where
vLLM is importable."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cotpd.corpus.errors import CotpdError
from cotpd.corpus.fingerprint import weights_fingerprint
from cotpd.teacher.backend import (
    GenerationRequest,
    GenerationResult,
    ResultCallback,
    SamplingParams,
)
from cotpd.teacher.config import TeacherConfig, model_folder
from cotpd.teacher.registry import register_backend


@register_backend("vllm")
class VLLMBackend:
    name = "vllm"

    @classmethod
    def from_config(cls, config: TeacherConfig, sampling: SamplingParams) -> VLLMBackend:
        return cls(model_folder(config), sampling, trust_remote_code=config.trust_remote_code)

    def __init__(self, model_path: Path, sampling: SamplingParams, trust_remote_code: bool = False,
                 **engine_args: Any) -> None:
        try:
            from vllm import LLM
        except ImportError:
            raise CotpdError("teacher.backend 'vllm' needs vLLM (pip install vllm, in its own "
                             "environment); or serve the model and use backend 'openai'") from None
        self.model_path = Path(model_path)
        self.sampling = sampling
        self.llm = LLM(model=str(self.model_path), trust_remote_code=trust_remote_code,
                       seed=sampling.seed, **engine_args)

    def fingerprint_parts(self) -> dict[str, Any]:
        return {"backend": "vllm", "model": str(self.model_path),
                "weights": weights_fingerprint(self.model_path), "sampling": self.sampling.__dict__}

    def generate(self, requests: Sequence[GenerationRequest], on_result: ResultCallback) -> None:
        from vllm import SamplingParams as VllmSampling

        params = [VllmSampling(temperature=self.sampling.temperature, top_p=self.sampling.top_p,
                               max_tokens=r.max_tokens, stop=list(r.stop) or None,
                               seed=self.sampling.seed) for r in requests]
        start = time.perf_counter()
        prompts = [r.prompt for r in requests if r.prompt is not None]
        if len(prompts) == len(requests):
            outputs = self.llm.generate(prompts, params)
        else:
            outputs = self.llm.chat([r.messages for r in requests], params)
        latency = (time.perf_counter() - start) / max(len(requests), 1)
        for request, output in zip(requests, outputs, strict=True):
            completion = output.outputs[0]
            on_result(request, GenerationResult(
                text=completion.text.strip(), finish_reason=completion.finish_reason,
                prompt_tokens=len(output.prompt_token_ids or []),
                completion_tokens=len(completion.token_ids), latency_s=latency))
