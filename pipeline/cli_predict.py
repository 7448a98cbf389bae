"""`cotpd predict`: the trained student as a tool, from text alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from cotpd.corpus.conll import write_conll
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.mnre import read_mnre, write_mnre
from cotpd.corpus.predict_inputs import (
    INPUT_FORMATS,
    InputItem,
    detect_format,
    read_input,
    sort_out,
)
from cotpd.corpus.records import MnerSample
from cotpd.corpus.tasks import lookup
from cotpd.corpus.words import WORD_STYLES, split_words

HELP = """Entities (or relations) from the text alone, as JSON lines on stdout or in --output.

\b
--input takes, one sentence each:
  text   plain lines, split into words the way the training data is tokenized
         (--words tweet: punctuation apart, @handles, #tags and URLs kept whole;
          --words apart: every symbol apart, as Twitter-2015/2017 are tokenized)
  conll  token<TAB>label lines (also prints the scores against those labels) or bare
         token lines, IMGID:<id> first or not, a blank line between sentences
  jsonl  {"tokens": [...], "id": ..., "labels": [...]} (id and labels optional)
  mnre   MNRE lines, for a relation student
The format comes from the extension (.jsonl, .conll) or the first line; --input-format
says it outright. Texts longer than the encoder's window are read in overlapping windows
(--stride sub-words shared), so every word is labelled. An empty text or line is an error
naming it; --skip-bad leaves such lines out and names them on stderr.
"""


@click.command(help=HELP)
@click.option("--model", "model_dir", required=True, type=click.Path(path_type=Path),
              help="A student directory written by `cotpd train`.")
@click.option("--text", "texts", multiple=True, help="A sentence (repeatable).")
@click.option("--input", "input_path", type=click.Path(exists=True, dir_okay=False,
                                                        path_type=Path),
              help="A file of sentences: plain text, CoNLL, JSONL (or MNRE lines).")
@click.option("--input-format", type=click.Choice(INPUT_FORMATS), default="auto",
              show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write predictions here instead of stdout: JSONL for .jsonl/.json, else "
                   "CoNLL (MNRE lines for a relation student).")
@click.option("--output-format", type=click.Choice(["auto", "jsonl", "conll"]), default="auto",
              show_default=True)
@click.option("--words", "word_style", type=click.Choice(WORD_STYLES), default="tweet",
              show_default=True, help="How plain text is split into words (see above).")
@click.option("--stride", type=int, default=None,
              help="Sub-words consecutive windows of a long text share [default: a quarter "
                   "of the window].")
@click.option("--skip-bad", is_flag=True,
              help="Leave out empty texts and bad lines (counted and named on stderr).")
@click.option("--batch-size", default=64, show_default=True)
@click.option("--trust-remote-code", is_flag=True,
              help="Run Python code the model folder ships (its encoder's auto_map); off "
                   "unless given: a downloaded folder is data, not a program.")
def predict(model_dir: Path, texts: tuple[str, ...], input_path: Path | None,
            input_format: str, output: Path | None, output_format: str, word_style: str,
            stride: int | None, skip_bad: bool, batch_size: int,
            trust_remote_code: bool) -> None:
    from cotpd.student.predict import StudentPredictor

    if not texts and input_path is None:
        raise CotpdError("give --text SENTENCE or --input FILE")
    predictor = StudentPredictor.load(model_dir, batch_size=batch_size, stride=stride,
                                      trust_remote_code=trust_remote_code)
    if predictor.needs_context:
        click.echo(f"note: this student's inference view is {predictor.view!r}; inputs "
                   "without captions/knowledge are predicted from the text alone", err=True)
    kind = None if input_path is None else (
        detect_format(input_path) if input_format == "auto" else input_format)
    predict_for = lookup(_PREDICT_BY_TASK, predictor.loaded.task)
    predict_for(predictor, texts, input_path, kind, output, output_format, word_style, skip_bad)


def _predict_entities(predictor: Any, texts: tuple[str, ...], input_path: Path | None,
                      kind: str | None, output: Path | None, output_format: str,
                      word_style: str, skip_bad: bool) -> None:
    items = [_text_item(number, text, word_style)
             for number, text in enumerate(texts, start=1)]
    file_items = [] if input_path is None else read_input(input_path, kind, word_style)
    good, bad = sort_out(items + file_items, skip_bad)
    if bad:
        click.echo(f"skipped {len(bad)} bad input(s): " + "; ".join(map(str, bad)), err=True)
    samples = [MnerSample(id=item.id, tokens=item.words, labels=["O"] * len(item.words),
                          image_id=None) for item in good]
    predicted = predictor.predict_samples(samples)
    if predictor.windows_read:
        click.echo(f"note: long texts were read in overlapping windows of up to "
                   f"{predictor.window} sub-words ({predictor.windows_read} windows past the "
                   f"first, {predictor.stride} sub-words shared); every word is labelled",
                   err=True)
    _write_entities(good, samples, predicted, output, output_format)
    from_file = {id(item) for item in file_items}
    scored = [(item.labels, tags) for item, tags in zip(good, predicted, strict=True)
              if id(item) in from_file]
    if scored and all(gold is not None for gold, _ in scored):
        _print_scores(input_path, scored)


def _text_item(number: int, text: str, style: str) -> InputItem:
    words = split_words(text, style)
    problem = "an empty text" if not text.strip() else None if words else "no words"
    return InputItem(f"--text {number}", f"text{number}", words, problem=problem)


def _output_kind(output: Path, declared: str) -> str:
    if declared != "auto":
        return declared
    return "jsonl" if output.suffix.lower() in (".jsonl", ".json") else "conll"


def _write_entities(items: list[InputItem], samples: list[MnerSample], predicted: list,
                    output: Path | None, output_format: str) -> None:
    from cotpd.student.predict import entities_json

    records = [{"id": item.id, **entities_json(item.words, tags)}
               for item, tags in zip(items, predicted, strict=True)]
    if output is None:
        for record in records:
            click.echo(json.dumps(record, ensure_ascii=False))
        return
    if _output_kind(output, output_format) == "jsonl":
        output.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                          encoding="utf-8")
    else:
        for sample, tags in zip(samples, predicted, strict=True):
            sample.labels = tags
        write_conll(output, samples)
    click.echo(f"predictions written to {output}", err=True)


def _print_scores(input_path: Path, pairs: list[tuple[list[str], list[str]]]) -> None:
    """Scores against the input's own labels (every sentence read from it has them)."""
    from cotpd.eval.metrics import mner_scores
    from cotpd.eval.tables import format_scores_table

    scores = mner_scores([gold for gold, _ in pairs], [tags for _, tags in pairs])
    click.echo(f"scores against the labels in {input_path} ({len(pairs)} sentences):\n"
               f"{format_scores_table(scores)}", err=True)


def _predict_relations(predictor: Any, texts: tuple[str, ...], input_path: Path | None,
                       kind: str | None, output: Path | None, output_format: str,
                       word_style: str, skip_bad: bool) -> None:
    if texts:
        raise CotpdError("--text works for MNER students; give MRE instances with --input")
    if kind not in ("mnre", "jsonl"):  # MNRE lines are dicts, so they sniff as JSON lines
        raise CotpdError(f"{input_path}: expected MNRE lines for this relation student")
    instances = read_mnre(input_path).samples
    relations = predictor.predict_samples(instances)
    if output is not None and _output_kind(output, output_format) != "jsonl":
        for instance, relation in zip(instances, relations, strict=True):
            instance.relation = relation
        write_mnre(output, instances)
        click.echo(f"predictions written to {output}", err=True)
        return
    lines = [json.dumps({"tokens": s.tokens, "head": s.head.name, "tail": s.tail.name,
                         "relation": r}, ensure_ascii=False)
             for s, r in zip(instances, relations, strict=True)]
    if output is None:
        for line in lines:
            click.echo(line)
    else:
        output.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        click.echo(f"predictions written to {output}", err=True)


# What a student of each task reads and writes: entities of texts or sentences, relations of
# MNRE instances.
_PREDICT_BY_TASK = {"mner": _predict_entities, "mre": _predict_relations}
