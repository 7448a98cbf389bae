"""Training step time of the student variants, side by side in one process: what CPD's step
costs against +CoT's, and the two-stage student's against the text-only step.

Every variant gets the same batches of Twitter-2017 training sentences with their BLIP-2
captions and ChatGPT knowledge, the embedded MiniLM encoder and AdamW; steps alternate
between variants (one step each, round after round) so a busy machine slows all alike, and
the median seconds per step (forward, backward, optimizer) of each is compared.

    python benchmarks/step_time.py --variants text cot cpd mv upd --rounds 8
    python benchmarks/step_time.py --variants text two_stage cpd --rounds 8

`two_stage` steps read cached teacher distributions, as the two-stage student does after its
one-time teacher pass (the pass itself is timed by student_variants.py); their values do
not change the cost, so the benchmark draws them at random.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
import cotpd.corpus  # noqa: E402, F401  (the offline switches, before any model library)

NO_DATA_ROOT = "error: no data root: pass --data-root DIR or set $COTPD_DATA_ROOT"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", type=Path, default=os.environ.get("COTPD_DATA_ROOT"),
                        help="the datasets' folder (default: $COTPD_DATA_ROOT)")
    parser.add_argument("--variants", nargs="+", default=["text", "cot", "cpd", "mv", "upd"])
    parser.add_argument("--rounds", type=int, default=8, help="timed steps per variant")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--num-queries", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--results", type=Path,
                        default=REPO / "benchmarks" / "results" / "step_time.jsonl")
    args = parser.parse_args()
    if args.data_root is None:
        sys.exit(NO_DATA_ROOT)

    import torch
    from cotpd.corpus.conll import read_conll
    from cotpd.corpus.context_files import attach_context, load_captions, load_knowledge_files
    from cotpd.student.config import StudentConfig
    from cotpd.student.data import EncodedDataset, ViewCollator
    from cotpd.student.labels import label_list
    from cotpd.student.model import StudentModel
    from cotpd.student.train import load_encoder
    from cotpd.student.views import ViewBuilder

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    data = args.data_root
    train = read_conll(data / "twitter2017" / "train.txt").samples
    attach_context(train, load_captions(data / "captions" / "BLIP2_17.txt"),
                   load_knowledge_files([data / "knowledge" / "twitter2017_train.jsonl"]))
    # The same random sentences for every variant; one batch per round.
    picked = random.Random(args.seed).sample(train, args.batch_size * (args.rounds + 1))
    labels = label_list("mner", ["PER", "LOC", "ORG", "MISC"], picked)
    label_to_id = {label: i for i, label in enumerate(labels)}

    setups = {}
    import numpy as np

    generator = np.random.default_rng(args.seed)
    cached = [np.log(generator.dirichlet(np.ones(len(labels)), len(s.tokens))).astype(np.float32)
              for s in picked]
    for variant in args.variants:
        two_stage = variant.startswith("two_stage")
        config = StudentConfig.model_validate({
            "variant": variant, "views": {"max_length": args.max_length},
            "prompt": {"num_queries": args.num_queries},
            "distill": {"teacher": "cached"} if two_stage else {}})
        tokenizer, encoder = load_encoder(config, "mner")
        model = StudentModel(encoder, config, "mner", len(labels)).train()
        views = [config.train_view] + ([config.distill_view] if config.distill_view else [])
        dataset = EncodedDataset(picked, views, ViewBuilder(tokenizer, config.views), label_to_id,
                                 cached if two_stage else None)
        collator = ViewCollator(tokenizer.pad_token_id)
        batches = [collator([dataset[i] for i in range(r * args.batch_size,
                                                       (r + 1) * args.batch_size)])
                   for r in range(args.rounds + 1)]
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        setups[variant] = (model, batches, optimizer)

    def step(variant: str, index: int) -> float:
        model, batches, optimizer = setups[variant]
        start = time.perf_counter()
        loss = model(**batches[index])["loss"]
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return time.perf_counter() - start

    for variant in args.variants:
        step(variant, 0)  # warm-up: first steps allocate optimizer state
    seconds: dict[str, list[float]] = {v: [] for v in args.variants}
    for index in range(1, args.rounds + 1):
        for variant in args.variants:
            seconds[variant].append(step(variant, index))
    median = {v: statistics.median(s) for v, s in seconds.items()}
    reference = median.get("cot")
    text = median.get("text")
    record = {
        "variants": args.variants, "rounds": args.rounds, "batch_size": args.batch_size,
        "max_length": args.max_length, "num_queries": args.num_queries,
        "threads": args.threads, "median_seconds_per_step": median,
        "ratio_to_cot": {v: m / reference for v, m in median.items()} if reference else None,
        "ratio_to_text": {v: m / text for v, m in median.items()} if text else None,
        "seconds": {v: [round(x, 3) for x in s] for v, s in seconds.items()},
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    with open(args.results, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
    for variant in args.variants:
        ratio = f" ({median[variant] / reference:.2f}x +CoT)" if reference else ""
        ratio += f" ({median[variant] / text:.2f}x text)" if text else ""
        print(f"{variant:>8}: {median[variant]:.2f} s/step{ratio}")
    print(f"median of {args.rounds} alternating steps, batch {args.batch_size}, max length "
          f"{args.max_length}, N {args.num_queries}, {args.threads} threads")


if __name__ == "__main__":
    main()
