"""Text-only `predict` of a trained student against a plain AutoModelForTokenClassification
of the same encoder on the same sentences (issue: student, target >= 0.9x).

All sides get the same words, batch size and thread count; repetitions alternate between
them so a busy machine slows all alike, and the median of each is compared. The plain model
runs twice: in input order (a plain loop over the file) and with batches sorted by sub-word
length as `predict` does (the order computed outside the timing, the plain side's best
case), so the second ratio isolates the prompt generator and the N extra positions.

    python benchmarks/predict_speed.py runs/bench_student/d_seed1/student/model
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="a saved student (student/model)")
    parser.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--results", type=Path,
                        default=REPO / "benchmarks" / "results" / "predict_speed.jsonl")
    args = parser.parse_args()

    import torch
    from transformers import AutoConfig, AutoModelForTokenClassification

    from corpus.conll import read_conll
    from student.predict import StudentPredictor

    torch.set_num_threads(args.threads)
    sentences = [s.tokens for s in read_conll(args.data_root / "twitter2017" / "test.txt").samples]
    predictor = StudentPredictor.load(args.model, batch_size=args.batch_size)
    tokenizer = predictor.loaded.tokenizer
    encoder_config = AutoConfig.from_pretrained(args.model / "encoder_config")
    encoder_config.num_labels = len(predictor.loaded.labels)
    plain = AutoModelForTokenClassification.from_config(encoder_config).eval()
    max_length = predictor.loaded.config.views.max_length
    subwords = [len(ids) for ids in tokenizer(sentences, is_split_into_words=True, truncation=True,
                                              max_length=max_length)["input_ids"]]
    by_length = sorted(range(len(sentences)), key=subwords.__getitem__)

    def plain_in(order: list[int]):
        def run() -> None:
            with torch.inference_mode():
                for start in range(0, len(order), args.batch_size):
                    words = [sentences[i] for i in order[start:start + args.batch_size]]
                    batch = tokenizer(words, is_split_into_words=True, padding=True,
                                      truncation=True, max_length=max_length,
                                      return_tensors="pt")
                    plain(**batch).logits.argmax(-1)
        return run

    def run_student() -> None:
        predictor.predict_entities([" ".join(words) for words in sentences])

    sides = {"student": run_student, "plain_input_order": plain_in(list(range(len(sentences)))),
             "plain_sorted": plain_in(by_length)}
    times: dict[str, list[float]] = {name: [] for name in sides}
    for function in sides.values():
        function()  # warm-up: first calls allocate
    for _ in range(args.repeats):
        for name, function in sides.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    rates = {name: len(sentences) / statistics.median(values) for name, values in times.items()}
    record = {
        "model": str(args.model), "view": predictor.view,
        "variant": predictor.loaded.config.variant,
        "num_queries": predictor.loaded.config.prompt.num_queries,
        "sentences": len(sentences), "mean_subwords": statistics.mean(subwords),
        "plain_sorted_by": "subword_length", "batch_size": args.batch_size, "threads": args.threads,
        "repeats": args.repeats, "sentences_per_second": rates,
        "ratio_to_plain_input_order": rates["student"] / rates["plain_input_order"],
        "ratio_to_plain_sorted": rates["student"] / rates["plain_sorted"],
        "seconds": {name: [round(v, 3) for v in values] for name, values in times.items()},
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    with open(args.results, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
    print(f"student predict ({record['variant']}, view {record['view']}, N "
          f"{record['num_queries']}): {rates['student']:.1f} sentences/s; plain token "
          f"classifier in input order {rates['plain_input_order']:.1f} "
          f"({record['ratio_to_plain_input_order']:.2f}x), sorted by length "
          f"{rates['plain_sorted']:.1f} ({record['ratio_to_plain_sorted']:.2f}x); median of "
          f"{args.repeats}, {len(sentences)} sentences, batch {args.batch_size}, "
          f"{args.threads} threads")


if __name__ == "__main__":
    main()
