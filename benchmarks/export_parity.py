"""The exported student through `transformers.pipeline` against `cotpd predict`: the same
entities, the same F1, and the time each takes, on a dataset's test tweets.

The student is exported (`cotpd export`) to a temporary folder and read by
`pipeline("token-classification", model=EXPORT, aggregation_strategy="first")`, which splits
the text into words itself. Both sides read two forms of every tweet:

words   the dataset's words joined by spaces (cotpd predict gets the words themselves)
raw     the tweet as typed: `@` and `#` joined to the next word (`@katie`, `#Blackhawks`)
        and a URL appended (`https://t.co/<image id>`); cotpd predict splits it with
        --words (the dataset's own tokenization: `apart` for Twitter-2015/2017)

Entities are compared as (type, first character, last character) of the text, so the two
sides' different word splits do not matter; F1 is micro over the gold entities of the
dataset, placed in the same text. Timing: both sides on the same texts, batch size and
threads, once warmed up, taking turns; the best of --repeats rounds.

    python benchmarks/export_parity.py runs/twitter2017/student/model --data-root DIR
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
import cotpd.corpus  # noqa: E402, F401  (the offline switches, before any model library)

NO_DATA_ROOT = "error: no data root: pass --data-root DIR or set $COTPD_DATA_ROOT"
Span = tuple[str, int, int]


@dataclass
class Tweet:
    text: str
    words: list[str]  # the dataset's words
    starts: list[int]  # each word's first character in `text`
    gold: set[Span]


def make_tweet(tokens: Sequence[str], labels: Sequence[str], image_id: str | None,
               raw: bool) -> Tweet:
    """The words as one text (see the module docstring), with each word's place in it."""
    from cotpd.corpus.bio import bio_spans

    text, starts = "", []
    for index, token in enumerate(tokens):
        glued = raw and index > 0 and tokens[index - 1] in ("@", "#")
        if text and not glued:
            text += " "
        starts.append(len(text))
        text += token
    if raw:
        text += f" https://t.co/{image_id or 'x'}"
    gold = {(s.type, starts[s.start], starts[s.end - 1] + len(tokens[s.end - 1]))
            for s in bio_spans(list(labels))}
    return Tweet(text, list(tokens), starts, gold)


def word_spans(text: str, words: Sequence[str], entities: list[dict[str, Any]]) -> set[Span]:
    """cotpd's word-index entities as character spans of `text` (words in order)."""
    starts, cursor = [], 0
    for word in words:
        cursor = text.index(word, cursor)
        starts.append(cursor)
        cursor += len(word)
    return {(e["type"], starts[e["start"]], starts[e["end"] - 1] + len(words[e["end"] - 1]))
            for e in entities}


def scores(found: list[set[Span]], gold: list[set[Span]]) -> dict[str, float]:
    right = sum(len(f & g) for f, g in zip(found, gold, strict=True))
    predicted, true = sum(map(len, found)), sum(map(len, gold))
    precision = right / predicted if predicted else 0.0
    recall = right / true if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": 100 * precision, "recall": 100 * recall, "f1": 100 * f1}


def best_times(sides: list[Callable[[], Any]], repeats: int) -> tuple[list[float], list[Any]]:
    """The best time of each side over `repeats` rounds, the sides taking turns within each
    round (so a slower spell slows both), and each side's last result."""
    best, results = [float("inf")] * len(sides), [None] * len(sides)
    for _ in range(repeats):
        for index, run in enumerate(sides):
            start = time.perf_counter()
            results[index] = run()
            best[index] = min(best[index], time.perf_counter() - start)
    return best, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="a saved text-view student (student/model)")
    parser.add_argument("--data-root", type=Path, default=os.environ.get("COTPD_DATA_ROOT"),
                        help="the datasets' folder (default: $COTPD_DATA_ROOT)")
    parser.add_argument("--dataset", default="twitter2017")
    parser.add_argument("--split", default="test", choices=["train", "dev", "test"])
    parser.add_argument("--words", default="apart", choices=["apart", "tweet"],
                        help="how cotpd predict splits the raw tweets (the dataset's style)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--show", type=int, default=5, help="differing tweets to print")
    args = parser.parse_args()
    if args.data_root is None:
        sys.exit(NO_DATA_ROOT)

    import torch
    from cotpd.corpus.registry import get_dataset, read_split
    from cotpd.student.export import export_student
    from cotpd.student.predict import StudentPredictor
    from transformers import pipeline

    torch.set_num_threads(args.threads)
    samples = read_split(get_dataset(args.dataset), args.split, args.data_root).samples
    predictor = StudentPredictor.load(args.model, batch_size=args.batch_size)
    with tempfile.TemporaryDirectory() as folder:
        export_student(args.model, Path(folder) / "export")
        tagger = pipeline("token-classification", model=str(Path(folder) / "export"),
                          aggregation_strategy="first", device="cpu")
        for form in ("words", "raw"):
            tweets = [make_tweet(s.tokens, s.labels, s.image_id, form == "raw")
                      for s in samples]
            texts = [t.text for t in tweets]

            def cotpd_side(tweets: list[Tweet] = tweets, form: str = form) -> list[set[Span]]:
                if form == "words":
                    records = predictor.predict_words([t.words for t in tweets])
                else:
                    records = predictor.predict_entities([t.text for t in tweets], args.words)
                return [word_spans(t.text, r["tokens"], r["entities"])
                        for t, r in zip(tweets, records, strict=True)]

            def pipeline_side(texts: list[str] = texts) -> list[set[Span]]:
                out = tagger(texts, batch_size=args.batch_size)
                return [{(e["entity_group"], e["start"], e["end"]) for e in found}
                        for found in out]

            cotpd_side(tweets[: args.batch_size])  # warm-up
            pipeline_side(texts[: args.batch_size])
            (cotpd_seconds, pipeline_seconds), (ours, theirs) = best_times(
                [cotpd_side, pipeline_side], args.repeats)
            gold = [t.gold for t in tweets]
            same = sum(a == b for a, b in zip(ours, theirs, strict=True))
            result = {
                "form": form, "tweets": len(tweets),
                "handles": sum(t.text.count("@") for t in tweets),
                "hashtags": sum(t.text.count("#") for t in tweets),
                "urls": sum(t.text.count("https://") for t in tweets),
                "same_entities": same, "same_entities_pct": 100 * same / len(tweets),
                "cotpd_predict": scores(ours, gold), "pipeline": scores(theirs, gold),
                "seconds": {"cotpd_predict": round(cotpd_seconds, 3),
                            "pipeline": round(pipeline_seconds, 3)},
            }
            print(json.dumps(result))
            shown = 0
            for tweet, a, b in zip(tweets, ours, theirs, strict=True):
                if a != b and shown < args.show:
                    shown += 1
                    print(f"  {form} differs: {tweet.text!r}\n    cotpd:    "
                          f"{sorted(a)}\n    pipeline: {sorted(b)}")


if __name__ == "__main__":
    main()
