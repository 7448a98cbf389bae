"""`cotpd config explain`: the config reference, from the config models."""

from __future__ import annotations

import click


@click.group("config")
def config_group() -> None:
    """Config files: what every key means."""


@config_group.command("explain")
@click.argument("key", required=False)
@click.option("--markdown", is_flag=True,
              help="Print the whole reference as Markdown (what docs/configs.md holds).")
def explain(key: str | None, markdown: bool) -> None:
    """Every config key with its default and meaning, or one KEY (dotted, e.g.
    student.distill.alpha) with its type, default, constraints and meaning."""
    from cotpd.pipeline import config_reference as reference

    if markdown and key:
        raise click.UsageError("--markdown prints the whole reference; give no KEY")
    if markdown:
        click.echo(reference.format_markdown(), nl=False)
    elif key:
        click.echo("\n\n".join(reference.format_entry(e) for e in reference.find(key)))
    else:
        click.echo(reference.format_tree(), nl=False)
