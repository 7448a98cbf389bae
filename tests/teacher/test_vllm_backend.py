"""vLLM's in-process engine with a small local model. Marked `vllm`; skipped where vLLM is
not installed. Run with: COTPD_VLLM_MODEL=/path/to/hf/model python -m pytest -m vllm"""

import importlib.util
import os
from pathlib import Path

import pytest
from cotpd.corpus.records import MnerSample
from cotpd.teacher.backend import SamplingParams
from cotpd.teacher.catalogue import load_catalogue
from cotpd.teacher.runner import Teacher, run_prompt, teacher_fingerprint
from cotpd.teacher.store import KnowledgeStore

pytestmark = [
    pytest.mark.vllm,
    pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vLLM not installed"),
]


def test_vllm_engine_answers_a_batch(tmp_path: Path) -> None:
    from cotpd.teacher.vllm_backend import VLLMBackend

    model = os.environ.get("COTPD_VLLM_MODEL")
    if not model:
        from cotpd.teacher.embedded import embedded_gemma_folder

        model = str(embedded_gemma_folder())
    backend = VLLMBackend(Path(model), SamplingParams(max_tokens=24))
    teacher = Teacher(backend=backend, fingerprint=teacher_fingerprint(
        backend.fingerprint_parts()), style="completion", default_max_tokens=24)
    samples = [MnerSample(id=str(i), tokens=f"Tweet number {i} about Paris".split(),
                          labels=["O"] * 5, image_id=None) for i in range(8)]
    with KnowledgeStore(tmp_path / "store.sqlite") as store:
        counts = run_prompt(samples, load_catalogue()["noun"], teacher, store)
    # 24 tokens may cut an answer off: kept, counted as truncated
    assert (counts.answered + counts.truncated, counts.failed) == (8, 0)
