"""In-process generation with transformers: batched, greedy at temperature 0, CPU or GPU.

Requests are sorted by prompt length and generated in batches with left padding; each
finished batch is handed to the callback at once. At temperature 0 a row leaves its batch
as soon as it stops (`teacher.greedy_decoding`); sampling goes through `model.generate`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from cotpd.corpus.fingerprint import weights_fingerprint
from cotpd.corpus.model_folder import check_model_folder
from cotpd.teacher.backend import (
    GenerationRequest,
    GenerationResult,
    ResultCallback,
    SamplingParams,
)
from cotpd.teacher.config import TeacherConfig, model_folder
from cotpd.teacher.greedy_decoding import greedy_generate
from cotpd.teacher.registry import register_backend
from transformers import AutoModelForCausalLM


@register_backend("transformers")
class TransformersBackend:
    name = "transformers"

    @classmethod
    def from_config(cls, config: TeacherConfig, sampling: SamplingParams) -> TransformersBackend:
        return cls(model_folder(config), sampling, batch_size=config.batch_size,
                   trust_remote_code=config.trust_remote_code)

    def __init__(self, model_path: Path, sampling: SamplingParams, batch_size: int = 8,
                 device: str | None = None, trust_remote_code: bool = False,
                 dtype: torch.dtype | None = None) -> None:
        self.model_path = Path(model_path)
        self.sampling = sampling
        self.batch_size = batch_size
        self.prune_finished_rows = True  # False: plain model.generate (for comparisons)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        _, self.tokenizer = check_model_folder(self.model_path, trust_remote_code)
        self.tokenizer.padding_side = "left"  # generation continues the right end
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(
            self.model_path, dtype=dtype or (torch.bfloat16 if self.device == "cuda"
                                             else torch.float32),
            local_files_only=True, trust_remote_code=trust_remote_code)
        self.model.to(self.device).eval()

    def fingerprint_parts(self) -> dict[str, Any]:
        return {"backend": self.name, "model": str(self.model_path),
                "weights": weights_fingerprint(self.model_path),
                "sampling": self.sampling.__dict__}

    def generate(self, requests: Sequence[GenerationRequest], on_result: ResultCallback) -> None:
        texts = [self._prompt_text(r) for r in requests]
        order = sorted(range(len(requests)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start:start + self.batch_size]
            began = time.perf_counter()
            try:
                outputs = self._generate_batch([texts[i] for i in chunk],
                                               [requests[i] for i in chunk])
            except (RuntimeError, ValueError) as error:  # e.g. out of memory: record, go on
                outputs = [GenerationResult(error=f"{type(error).__name__}: {error}"[:300])
                           for _ in chunk]
            latency = (time.perf_counter() - began) / max(len(chunk), 1)
            for index, result in zip(chunk, outputs, strict=True):
                result.latency_s = latency
                on_result(requests[index], result)

    def _prompt_text(self, request: GenerationRequest) -> str:
        if request.prompt is not None:
            return request.prompt
        return self.tokenizer.apply_chat_template(request.messages, tokenize=False,
                                                  add_generation_prompt=True)

    def _eos_ids(self) -> set[int]:
        configured = self.model.generation_config.eos_token_id
        ids = set(configured if isinstance(configured, list) else
                  [configured] if configured is not None else [])
        if self.tokenizer.eos_token_id is not None:
            ids.add(self.tokenizer.eos_token_id)
        return ids

    def _generate_batch(self, texts: list[str], requests: list[GenerationRequest]
                        ) -> list[GenerationResult]:
        encoded = self.tokenizer(texts, return_tensors="pt", padding=True,
                                 return_token_type_ids=False).to(self.device)
        if self.sampling.temperature == 0 and self.prune_finished_rows:
            return self._greedy_batch(encoded, requests)
        stops = sorted({s for r in requests for s in r.stop})
        max_new = max(r.max_tokens for r in requests)
        greedy = self.sampling.temperature == 0
        kwargs: dict[str, Any] = {"max_new_tokens": max_new, "do_sample": not greedy,
                                  "pad_token_id": self.tokenizer.pad_token_id}
        if not greedy:
            kwargs.update(temperature=self.sampling.temperature, top_p=self.sampling.top_p)
            torch.manual_seed(self.sampling.seed)
        if stops:
            kwargs.update(stop_strings=stops, tokenizer=self.tokenizer)
        with torch.inference_mode():
            generated = self.model.generate(**encoded, **kwargs)
        new_tokens = generated[:, encoded["input_ids"].shape[1]:]
        results = []
        for row, request in zip(new_tokens, requests, strict=True):
            ids = row[row != self.tokenizer.pad_token_id]
            text = self.tokenizer.decode(ids, skip_special_tokens=True)
            text, stopped = _cut_at_stop(text, request.stop)
            finish = "stop" if stopped or len(ids) < max_new else "length"
            results.append(GenerationResult(
                text=text.strip(), finish_reason=finish,
                prompt_tokens=int(encoded["attention_mask"][len(results)].sum()),
                completion_tokens=len(ids)))
        return results


    def _greedy_batch(self, encoded: dict[str, torch.Tensor],
                      requests: list[GenerationRequest]) -> list[GenerationResult]:
        rows = greedy_generate(self.model, self.tokenizer, encoded,
                               [r.max_tokens for r in requests], [r.stop for r in requests],
                               self._eos_ids())
        results = []
        for index, (row, request) in enumerate(zip(rows, requests, strict=True)):
            text = self.tokenizer.decode(row.token_ids, skip_special_tokens=True)
            text, _ = _cut_at_stop(text, request.stop)
            results.append(GenerationResult(
                text=text.strip(), finish_reason="stop" if row.stopped else "length",
                prompt_tokens=int(encoded["attention_mask"][index].sum()),
                completion_tokens=len(row.token_ids)))
        return results


def _cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """The text before the first stop string (a batch may run past a row's own stop)."""
    cuts = [text.find(s) for s in stops if s in text]
    return (text[: min(cuts)], True) if cuts else (text, False)
