"""`cotpd train` and `cotpd predict`: the student stage and text-only inference."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from corpus.conll import read_conll, write_conll
from corpus.discover import sniff_format
from corpus.errors import CotpdError
from corpus.mnre import read_mnre, write_mnre
from corpus.text_file import decode_lines
from pipeline.config import load_run_config
from pipeline.rundir import write_provenance


@click.command()
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config key, e.g. --set student.variant=mv")
def train(config: Path, overrides: tuple[str, ...]) -> None:
    """Train the student of CONFIG (model selection on dev F1 only); resumes from the last
    checkpoint of an interrupted run."""
    from student.train import train_student  # torch and transformers load only when needed

    run_config = load_run_config(config, list(overrides))
    if run_config.student is None:
        raise CotpdError(f"{config}: no 'student' section; add one (see configs/demo_mner.yaml)")
    run_dir = run_config.run.directory
    result = train_student(run_config, run_dir)
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun/deepspeed, rank 0 reports
        return
    write_provenance(run_dir, "train", run_config, result.report["fingerprints"])
    dev = result.dev_metrics
    click.echo(f"student ({run_config.student.variant}) -> {result.model_dir}; dev F1 "
               f"{100 * dev.get('eval_f1', 0.0):.2f} (P {100 * dev.get('eval_precision', 0.0):.2f}"
               f", R {100 * dev.get('eval_recall', 0.0):.2f})")


@click.command()
@click.option("--model", "model_dir", required=True, type=click.Path(path_type=Path),
              help="A student directory written by `cotpd train`.")
@click.option("--text", "texts", multiple=True, help="A sentence (tokens split on spaces).")
@click.option("--input", "input_path", type=click.Path(exists=True, dir_okay=False,
                                                        path_type=Path),
              help="Plain text (one sentence per line), a CoNLL+IMGID file or an MNRE file.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="For CoNLL/MNRE input: write predictions in the same format (for eval).")
@click.option("--batch-size", default=64, show_default=True)
def predict(model_dir: Path, texts: tuple[str, ...], input_path: Path | None,
            output: Path | None, batch_size: int) -> None:
    """Entities (or relations) as JSON lines, from the text alone."""
    from student.predict import StudentPredictor, entities_json

    if not texts and input_path is None:
        raise CotpdError("give --text SENTENCE or --input FILE")
    predictor = StudentPredictor.load(model_dir, batch_size=batch_size)
    if predictor.needs_context:
        click.echo(f"note: this student's inference view is {predictor.view!r}; inputs "
                   "without captions/knowledge are predicted from the text alone", err=True)
    if texts:
        if predictor.loaded.task != "mner":
            raise CotpdError("--text works for MNER students; give MRE instances with --input")
        for record in predictor.predict_entities(list(texts)):
            click.echo(json.dumps(record, ensure_ascii=False))
    if input_path is None:
        return
    kind = sniff_format(input_path)
    if kind == "conll" and predictor.loaded.task == "mner":
        samples = read_conll(input_path).samples
        tags = predictor.predict_samples(samples)
        for sample, sample_tags in zip(samples, tags, strict=True):
            sample.labels = sample_tags
            if output is None:
                click.echo(json.dumps({"id": sample.id, **entities_json(sample.tokens,
                                                                        sample_tags)},
                                      ensure_ascii=False))
        if output is not None:
            write_conll(output, samples)
    elif kind == "mnre" and predictor.loaded.task == "mre" and _looks_like_mnre(input_path):
        instances = read_mnre(input_path).samples
        relations = predictor.predict_samples(instances)
        for instance, relation in zip(instances, relations, strict=True):
            instance.relation = relation
        if output is not None:
            write_mnre(output, instances)
        else:
            for record in predictor.predict_relations(instances):
                click.echo(json.dumps(record, ensure_ascii=False))
    elif predictor.loaded.task == "mner":
        text_lines, _ = decode_lines(input_path, input_path.read_bytes())  # file:line errors
        lines = [line.strip() for line in text_lines]
        for record in predictor.predict_entities([line for line in lines if line]):
            click.echo(json.dumps(record, ensure_ascii=False))
    else:
        raise CotpdError(f"{input_path}: expected MNRE lines for this relation student")
    if output is not None:
        click.echo(f"predictions written to {output}", err=True)


def _looks_like_mnre(path: Path) -> bool:
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.readline().lstrip().startswith("{")
