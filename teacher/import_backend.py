"""Knowledge another system wrote (JSONL keyed by id or img_id, such as ChatGPT's knowledge
texts for Twitter-2017), stored under its own teacher name and fingerprint, so studies can
compare it with live teachers. It answers one prompt, `imported`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from cotpd.corpus.context_files import load_knowledge_files, normalise_image_id
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.fingerprint import sha256_file
from cotpd.corpus.records import Sample
from cotpd.teacher.backend import GenerationResult, SamplingParams
from cotpd.teacher.config import TeacherConfig
from cotpd.teacher.registry import register_backend
from cotpd.teacher.store import KnowledgeStore

IMPORTED_PROMPT = "imported"
IMPORTED_VERSION = "1"


@register_backend("import")
class ImportBackend:
    """`teacher.backend: import` names knowledge files, not a model: the teach stage stores
    them through `import_knowledge`, and since nothing can be asked of them, building a
    backend that answers prompts from them is refused."""

    name = "import"

    @classmethod
    def from_config(cls, config: TeacherConfig, sampling: SamplingParams) -> NoReturn:
        raise CotpdError("the import backend answers no prompts; use import_knowledge")


def import_fingerprint_parts(files: Sequence[Path]) -> dict[str, Any]:
    return {"backend": "import", "files": {Path(f).name: sha256_file(f) for f in files}}


def import_knowledge(samples: Sequence[Sample], files: Sequence[Path], store: KnowledgeStore,
                     fingerprint: str) -> dict[str, int]:
    """Store each sample's imported text; count the samples the files do not cover."""
    records = load_knowledge_files(files)
    rows, missing, mismatched = [], 0, 0
    for sample in samples:
        record = records.get(sample.id) or records.get(normalise_image_id(sample.image_id or ""))
        if record is None:
            missing += 1
            continue
        if record.tokens is not None and record.tokens != sample.tokens:
            mismatched += 1
            continue
        rows.append((fingerprint, IMPORTED_PROMPT, IMPORTED_VERSION, sample.id,
                     GenerationResult(text=record.text, finish_reason="imported")))
    store.put_many(rows)
    return {"imported": len(rows), "missing": missing, "token_mismatch": mismatched}
