"""`cotpd export`: a text-view student as a plain Hugging Face token classifier."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--model", "model_dir", required=True, type=click.Path(path_type=Path),
              help="A student directory written by `cotpd train`.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="A new folder for the exported model.")
@click.option("--trust-remote-code", is_flag=True,
              help="Run Python code the model folder ships (its encoder's auto_map); off "
                   "unless given: a downloaded folder is data, not a program.")
def export(model_dir: Path, out: Path, trust_remote_code: bool) -> None:
    """Write a student that predicts from the plain text view as a standard
    AutoModelForTokenClassification folder (config with id2label/label2id, weights,
    tokenizer), usable with transformers alone:

    \b
      pipeline("token-classification", model=OUT, aggregation_strategy="first")

    Students with a prompt generator, a CRF head or a caption/knowledge view cannot export;
    the error says why."""
    from cotpd.student.export import export_student

    result = export_student(model_dir, out, trust_remote_code=trust_remote_code)
    click.echo(f"exported {model_dir} -> {out} ({len(result.labels)} labels: "
               f"{', '.join(result.labels)})")
    if result.same_tokens:
        click.echo(f"word scores match the student's within {result.max_difference:.1e} on "
                   "probe sentences")
    else:
        click.echo("note: this tokenizer splits a whole sentence into other sub-words than "
                   "the student, which tokenizes word by word; the pipeline's entities can "
                   "differ from `cotpd predict` where that happens", err=True)
