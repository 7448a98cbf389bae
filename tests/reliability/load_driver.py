"""`python load_driver.py URL N CONCURRENCY STORE`: the teacher runner (real run_prompt,
OpenAI backend, SQLite store) asks N noun prompts at CONCURRENCY; prints one JSON line with
the counts, the store's rows and the process's peak RSS before and after the run."""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from cotpd.corpus.records import MnerSample
from cotpd.teacher.backend import SamplingParams
from cotpd.teacher.catalogue import load_catalogue
from cotpd.teacher.config import OpenAIServerConfig
from cotpd.teacher.openai_backend import OpenAIBackend
from cotpd.teacher.runner import Teacher, run_prompt, teacher_fingerprint
from cotpd.teacher.store import KnowledgeStore


def peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM, not ru_maxrss, which Linux carries over from the
    forking parent (pytest, with torch loaded) across exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: KiB


def main(url: str, n: int, concurrency: int, store_path: str) -> None:
    samples = [MnerSample(id=f"s{i:06d}", tokens=f"tweet {i} about Paris and Obama".split(),
                          labels=["O"] * 6, image_id=None) for i in range(n)]
    server = OpenAIServerConfig(base_urls=[url], concurrency=concurrency, timeout_s=60,
                                max_retries=5)
    backend = OpenAIBackend(server, "fake", sampling=SamplingParams())
    teacher = Teacher(backend, teacher_fingerprint(backend.fingerprint_parts()), "completion")
    before = peak_rss_mb()
    began = time.perf_counter()
    with KnowledgeStore(store_path) as store:
        counts = run_prompt(samples, load_catalogue()["noun"], teacher, store)
        version = load_catalogue()["noun"].version_hash("completion")
        rows = len(store.answered_keys(teacher.fingerprint, "noun", version))
    print(json.dumps({"n": n, "concurrency": concurrency, "answered": counts.answered,
                      "failed": counts.failed, "errors": counts.errors, "stored": rows,
                      "seconds": round(time.perf_counter() - began, 1),
                      "rss_before_mb": round(before, 1), "peak_rss_mb": round(peak_rss_mb(), 1),
                      "store_mb": round(Path(store_path).stat().st_size / 2**20, 1)}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
