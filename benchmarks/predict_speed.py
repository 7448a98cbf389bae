"""Text-only `predict` of a trained student against a plain AutoModelForTokenClassification
of the same encoder on the same sentences, against the predictor of an earlier commit (the
one before long texts were read in windows: what windows cost on tweets), and on long texts
made by joining test tweets (read in overlapping windows).

All sides get the same words, batch size and thread count; repetitions alternate between
them, each round starting with another side, so a busy machine slows all alike, and the
median of each is compared. The plain model runs twice: in input order (a plain loop over
the file) and with batches sorted by sub-word length as `predict` does (the order computed
outside the timing, the plain side's best case), so the second ratio isolates the prompt
generator and the N extra positions. The earlier predictor is `student/predict.py` as
committed at --before (it read whole sentences and cut them at the encoder's length); both
are called from words, and their labels on the tweets are checked to be the same.

    python benchmarks/predict_speed.py runs/bench_student/d_seed1/student/model
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
import cotpd.corpus  # noqa: E402, F401  (the offline switches, before any model library)

from benchmarks.timing import plain_pass, timed  # noqa: E402

NO_DATA_ROOT = "error: no data root: pass --data-root DIR or set $COTPD_DATA_ROOT"

BEFORE_WINDOWS = "09f044f398db898cfe241eb125ab37716415c034"  # student/predict.py before windows


def load_predict_module(ref: str) -> ModuleType:
    """`student/predict.py` as committed at `ref`, imported under another name."""
    source = subprocess.run(["git", "-C", str(REPO), "show", f"{ref}:student/predict.py"],
                            check=True, capture_output=True, text=True).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(source)
    spec = importlib.util.spec_from_file_location("predict_before", handle.name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def repo_relative(path: Path) -> str:
    """The path as results record it: relative to the repository when inside it."""
    path = path.resolve()
    return str(path.relative_to(REPO) if path.is_relative_to(REPO) else path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="a saved student (student/model)")
    parser.add_argument("--data-root", type=Path, default=os.environ.get("COTPD_DATA_ROOT"),
                        help="the datasets' folder (default: $COTPD_DATA_ROOT)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--before", default=BEFORE_WINDOWS,
                        help="git commit of the predictor to compare with ('' to skip)")
    parser.add_argument("--no-plain", action="store_true",
                        help="leave out the plain token classifier")
    parser.add_argument("--long-texts", type=int, default=100)
    parser.add_argument("--tweets-per-text", type=int, default=20)
    parser.add_argument("--results", type=Path,
                        default=REPO / "benchmarks" / "results" / "predict_speed.jsonl")
    args = parser.parse_args()
    if args.data_root is None:
        sys.exit(NO_DATA_ROOT)

    import torch
    from cotpd.corpus.conll import read_conll
    from cotpd.student.predict import StudentPredictor
    from transformers import AutoConfig, AutoModelForTokenClassification

    torch.set_num_threads(args.threads)
    sentences = [s.tokens for s in read_conll(args.data_root / "twitter2017" / "test.txt").samples]
    k = args.tweets_per_text
    long_texts = [[w for j in range(i * k, (i + 1) * k) for w in sentences[j % len(sentences)]]
                  for i in range(args.long_texts)]
    predictor = StudentPredictor.load(args.model, batch_size=args.batch_size)
    tokenizer = predictor.loaded.tokenizer
    max_length = predictor.loaded.config.views.max_length
    subwords = [len(ids) for ids in tokenizer(sentences, is_split_into_words=True, truncation=True,
                                              max_length=max_length)["input_ids"]]

    def run_student() -> list:
        return [r["labels"] for r in predictor.predict_words(sentences)]

    def run_long() -> None:
        predictor.predict_words(long_texts)

    sides = {"student": run_student}
    if args.before:
        before = load_predict_module(args.before).StudentPredictor(predictor.loaded,
                                                                    args.batch_size)

        def run_before() -> list:
            return [r["labels"] for r in
                    before.predict_entities([" ".join(words) for words in sentences])]
        sides["student_before"] = run_before
    if not args.no_plain:
        encoder_config = AutoConfig.from_pretrained(args.model / "encoder_config",
                                                    local_files_only=True)
        encoder_config.num_labels = len(predictor.loaded.labels)
        plain = AutoModelForTokenClassification.from_config(encoder_config).eval()
        by_length = sorted(range(len(sentences)), key=subwords.__getitem__)
        sides["plain_input_order"] = plain_pass(plain, tokenizer, sentences, args.batch_size,
                                                max_length)
        sides["plain_sorted"] = plain_pass(plain, tokenizer, sentences, args.batch_size,
                                           max_length, order=by_length)
    if args.long_texts:
        sides["long_texts"] = run_long
    times: dict[str, list[float]] = {name: [] for name in sides}
    cpu_times: dict[str, list[float]] = {name: [] for name in sides}
    outputs = {}
    for name, function in sides.items():
        windows_before = predictor.windows_read
        outputs[name] = function()  # warm-up: first calls allocate
        if name == "long_texts":
            windows_per_pass = predictor.windows_read - windows_before + len(long_texts)
    if "student_before" in outputs and outputs["student"] != outputs["student_before"]:
        raise SystemExit("the windowed predictor labels the tweets differently from --before")
    names = list(sides)
    for repeat in range(args.repeats):
        # Each round starts with another side, so no side always runs first or last.
        for name in names[repeat % len(names):] + names[:repeat % len(names)]:
            _, wall, cpu = timed(sides[name])
            times[name].append(wall)
            cpu_times[name].append(cpu)
    medians = {name: statistics.median(values) for name, values in times.items()}
    rates = {name: len(long_texts if name == "long_texts" else sentences) / seconds
             for name, seconds in medians.items()}
    words = sum(map(len, sentences))
    long_words = sum(map(len, long_texts))
    record = {
        "model": repo_relative(args.model), "view": predictor.view,
        "variant": predictor.loaded.config.variant,
        "num_queries": predictor.loaded.config.prompt.num_queries,
        "sentences": len(sentences), "words": words, "mean_subwords": statistics.mean(subwords),
        "batch_size": args.batch_size, "threads": args.threads, "repeats": args.repeats,
        "window": predictor.window, "stride": predictor.stride, "before": args.before or None,
        "sentences_per_second": rates,
        "words_per_second": {name: (long_words if name == "long_texts" else words) / seconds
                             for name, seconds in medians.items()},
        "seconds": {name: [round(v, 3) for v in values] for name, values in times.items()},
        "cpu_seconds": {name: [round(v, 3) for v in values] for name, values in cpu_times.items()},
    }
    if "student_before" in rates:
        record["ratio_to_before"] = rates["student"] / rates["student_before"]
        record["ratio_to_before_cpu"] = (statistics.median(cpu_times["student_before"])
                                         / statistics.median(cpu_times["student"]))
    if "plain_input_order" in rates:
        record["plain_sorted_by"] = "subword_length"
        record["ratio_to_plain_input_order"] = rates["student"] / rates["plain_input_order"]
        record["ratio_to_plain_sorted"] = rates["student"] / rates["plain_sorted"]
    if long_texts:
        record["long_texts"] = {"texts": len(long_texts), "tweets_per_text": k,
                                "words": long_words, "windows": windows_per_pass}
    args.results.parent.mkdir(parents=True, exist_ok=True)
    with open(args.results, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
    print(f"student predict ({record['variant']}, view {record['view']}): "
          f"{rates['student']:.1f} sentences/s, {record['words_per_second']['student']:.0f} "
          f"words/s on {len(sentences)} Twitter-2017 test tweets")
    if "ratio_to_before" in record:
        print(f"  before windows ({args.before[:8]}): {rates['student_before']:.1f} sentences/s; "
              f"windowed/before {record['ratio_to_before']:.3f}x (by CPU time "
              f"{record['ratio_to_before_cpu']:.3f}x)")
    if "ratio_to_plain_input_order" in record:
        print(f"  plain token classifier in input order {rates['plain_input_order']:.1f} "
              f"({record['ratio_to_plain_input_order']:.2f}x), sorted by length "
              f"{rates['plain_sorted']:.1f} ({record['ratio_to_plain_sorted']:.2f}x)")
    if long_texts:
        print(f"  {len(long_texts)} long texts ({k} tweets, {long_words / len(long_texts):.0f} "
              f"words each, {windows_per_pass} windows of {predictor.window} sub-words, stride "
              f"{predictor.stride}): {rates['long_texts']:.2f} texts/s, "
              f"{record['words_per_second']['long_texts']:.0f} words/s")
    print(f"  median of {args.repeats}, batch {args.batch_size}, {args.threads} threads")


if __name__ == "__main__":
    main()
