"""Teacher throughput, measured side by side in one run.

1. Server (any OpenAI-compatible, e.g. vLLM; give --server-url): the same prompts through
   (a) a sequential loop, one request at a time (what the paper's LangChain loop did),
   (b) the cotpd runner (async, concurrency limit, retries), and
   (c) the server's saturation: plain concurrent requests at high concurrency.
2. In-process transformers backend with the embedded Gemma: batched vs one prompt at a time.
3. A fully cached re-run of 10,000 sample x prompt rows (the store answers everything).

    python benchmarks/teacher_throughput.py [--server-url http://127.0.0.1:8000/v1 --model M]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cotpd.corpus.records import MnerSample  # noqa: E402
from cotpd.teacher.backend import GenerationRequest, GenerationResult, SamplingParams  # noqa: E402
from cotpd.teacher.catalogue import load_catalogue  # noqa: E402
from cotpd.teacher.runner import Teacher, run_prompt  # noqa: E402
from cotpd.teacher.store import KnowledgeStore  # noqa: E402

TWEETS = ["RT @nba : Kawhi Leonard wins the fan vote", "Taylor Swift announces a tour in Paris",
          "Heading to London for the Wimbledon final", "Apple unveils the new iPhone in Cupertino",
          "Barack Obama meets Angela Merkel in Berlin", "#Oscars : Leonardo DiCaprio finally wins",
          "Manchester United sign a new striker from Ajax", "Snow storm hits Boston tonight"]


def prompts(count: int, max_tokens: int) -> list[GenerationRequest]:
    noun = load_catalogue()["noun"]
    return [GenerationRequest(key=str(i), prompt=noun.render(
        "completion", text=f"{TWEETS[i % len(TWEETS)]} ({i})"), stop=noun.stop("completion"),
        max_tokens=max_tokens) for i in range(count)]


def dataset_prompts(data_root: Path, count: int) -> list[GenerationRequest]:
    """The teach stage's own requests for the first Twitter-2017 test tweets: noun, sentence
    and multimodal (BLIP-2 captions from `<data_root>/captions/BLIP2_17.txt`) in turn, each
    with its catalogue stop strings and max_tokens."""
    from cotpd.corpus.context_files import attach_context, load_captions
    from cotpd.corpus.registry import get_dataset, read_split
    from cotpd.teacher.runner import build_request

    samples = read_split(get_dataset("twitter2017"), "test", data_root).samples
    attach_context(samples, load_captions(data_root / "captions" / "BLIP2_17.txt"), None)
    catalogue = load_catalogue()
    teacher = Teacher(backend=_Unreachable(), fingerprint="-", style="completion")
    kinds = ("noun", "sentence", "multimodal")
    requests = [build_request(samples[i // len(kinds)], catalogue[kinds[i % len(kinds)]],
                              teacher) for i in range(count)]
    return [dataclasses.replace(r, key=f"{i}:{r.key}") for i, r in enumerate(requests)]


def tokens_per_second(results: list[GenerationResult], seconds: float) -> float:
    return sum(r.completion_tokens or 0 for r in results) / seconds


def run_backend(backend, requests) -> tuple[list[GenerationResult], float]:
    """Results in request order, and the wall time."""
    out: dict[str, GenerationResult] = {}
    start = time.perf_counter()
    backend.generate(requests, lambda request, result: out.__setitem__(request.key, result))
    return [out[r.key] for r in requests], time.perf_counter() - start


def server_section(args: argparse.Namespace) -> list[str]:
    from cotpd.teacher.config import OpenAIServerConfig
    from cotpd.teacher.openai_backend import OpenAIBackend
    from openai import AsyncOpenAI, OpenAI

    requests = (dataset_prompts(args.data_root, args.prompts) if args.data_root
                else prompts(args.prompts, args.max_tokens))
    backend = OpenAIBackend(
        OpenAIServerConfig(base_urls=[args.server_url], concurrency=args.concurrency),
        args.model, sampling=SamplingParams(max_tokens=args.max_tokens))
    client = OpenAI(base_url=args.server_url, api_key="EMPTY")
    start, tokens = time.perf_counter(), 0
    for request in requests:  # (a) one at a time
        reply = client.completions.create(model=args.model, prompt=request.prompt,
                                          max_tokens=request.max_tokens, temperature=0,
                                          stop=list(request.stop))
        tokens += reply.usage.completion_tokens
    sequential = tokens / (time.perf_counter() - start)
    results, seconds = run_backend(backend, requests)  # (b) the runner
    runner = tokens_per_second(results, seconds)

    async def saturate() -> float:  # (c) everything at once
        aclient = AsyncOpenAI(base_url=args.server_url, api_key="EMPTY")
        began = time.perf_counter()
        replies = await asyncio.gather(*[aclient.completions.create(
            model=args.model, prompt=r.prompt, max_tokens=r.max_tokens, temperature=0,
            stop=list(r.stop)) for r in requests])
        return sum(x.usage.completion_tokens for x in replies) / (time.perf_counter() - began)

    saturation = asyncio.run(saturate())
    return [f"| server: sequential loop | {sequential:.1f} | 1.00x |",
            f"| server: cotpd runner (concurrency {args.concurrency}) | {runner:.1f} | "
            f"{runner / sequential:.2f}x (of saturation: {runner / saturation:.2f}) |",
            f"| server: saturation ({len(requests)} at once) | {saturation:.1f} | "
            f"{saturation / sequential:.2f}x |"]


def transformers_section(args: argparse.Namespace) -> list[str]:
    from cotpd.teacher.embedded import embedded_gemma_folder
    from cotpd.teacher.transformers_backend import TransformersBackend

    requests = prompts(args.local_prompts, args.max_tokens)
    folder = embedded_gemma_folder()
    one = TransformersBackend(folder, SamplingParams(max_tokens=args.max_tokens), batch_size=1)
    sequential_results, sequential_s = run_backend(one, requests)
    one.batch_size = args.batch_size
    batched_results, batched_s = run_backend(one, requests)
    one.prune_finished_rows = False  # the same batches through model.generate
    generate_results, generate_s = run_backend(one, requests)
    sequential = tokens_per_second(sequential_results, sequential_s)
    batched = tokens_per_second(batched_results, batched_s)
    plain = tokens_per_second(generate_results, generate_s)
    same = sum(a.text == b.text for a, b in zip(batched_results, generate_results, strict=True))
    return [f"| transformers (embedded Gemma 3 270M): one prompt at a time | {sequential:.1f} | "
            "1.00x |",
            f"| transformers: batches of {args.batch_size}, finished rows leave the batch | "
            f"{batched:.1f} | {batched / sequential:.2f}x |",
            f"| transformers: batches of {args.batch_size} through model.generate | {plain:.1f} | "
            f"{plain / sequential:.2f}x ({same}/{len(requests)} answers identical) |"]



class _Unreachable:
    """A backend that must not be called: a cached re-run asks nothing."""

    name = "unreachable"

    def fingerprint_parts(self) -> dict:
        return {}

    def generate(self, requests, on_result) -> None:
        raise RuntimeError(f"{len(requests)} requests reached the backend on a cached re-run")


def cached_section(rows: int) -> list[str]:
    noun = load_catalogue()["noun"]
    version = noun.version_hash("completion")
    samples = [MnerSample(id=f"s{i}", tokens=["tweet", str(i)], labels=["O", "O"],
                          image_id=None) for i in range(rows)]
    with tempfile.TemporaryDirectory() as folder, \
            KnowledgeStore(Path(folder) / "store.sqlite") as store:
        store.put_many([("t", "noun", version, s.id, GenerationResult(text="cached"))
                        for s in samples])
        teacher = Teacher(backend=_Unreachable(), fingerprint="t", style="completion")
        start = time.perf_counter()
        counts = run_prompt(samples, noun, teacher, store)
        seconds = time.perf_counter() - start
    assert counts.asked == 0 and counts.skipped == rows
    return [f"| fully cached re-run of {rows} rows | {seconds:.2f} s | - |"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-url")
    parser.add_argument("--model", default="gemma3-270m")
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--local-prompts", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--cached-rows", type=int, default=10000)
    parser.add_argument("--skip-local", action="store_true")
    parser.add_argument("--data-root", type=Path,
                        help="server prompts: the teach stage's noun/sentence/multimodal "
                             "requests for Twitter-2017 test tweets from this data root "
                             "(their own max_tokens), instead of --max-tokens noun prompts")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    rows = ["| what | completion tokens/s | ratio |", "|---|---|---|"]
    if args.data_root:
        rows.append(f"| server prompts: {args.prompts} Twitter-2017 test requests "
                    "(noun, sentence, multimodal) | | |")
    if args.server_url:
        rows += server_section(args)
    else:
        rows.append("| server | not measured (no --server-url) | |")
    if not args.skip_local:
        rows += transformers_section(args)
    rows += cached_section(args.cached_rows)
    table = "\n".join(rows)
    print(table)
    if args.json:
        Path(args.json).write_text(json.dumps({"table": table}) + "\n")


if __name__ == "__main__":
    main()
