"""The `cotpd` command: one subcommand group per stage.

Errors caused by input or config print one line and exit 2; `--debug` (or COTPD_DEBUG=1)
shows the traceback instead.
"""

from __future__ import annotations

import os
import sys

import click
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.offline import set_offline_switches
from cotpd.corpus.progress import set_progress
from cotpd.pipeline.cli_augment import augment
from cotpd.pipeline.cli_caption import caption
from cotpd.pipeline.cli_config import config_group
from cotpd.pipeline.cli_data import data
from cotpd.pipeline.cli_eval import eval_group
from cotpd.pipeline.cli_export import export
from cotpd.pipeline.cli_predict import predict
from cotpd.pipeline.cli_run import evaluate_command, run_command
from cotpd.pipeline.cli_student import train
from cotpd.pipeline.cli_study import study
from cotpd.pipeline.cli_teacher import store, teach_command
from cotpd.pipeline.doctor import doctor
from cotpd.pipeline.logs import configure_console


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.option("-q", "--quiet", is_flag=True,
              help="Console: warnings, errors and each stage's summary only; no progress bars.")
@click.option("-v", "--verbose", is_flag=True, help="Console: debug messages too.")
def cli(debug: bool, quiet: bool, verbose: bool) -> None:
    """cotpd: Chain-of-Thought Prompt Distillation for multimodal NER and RE.

    A stage's messages also go to <run>/logs/<stage>.log, at every level."""
    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose exclude each other")
    configure_console(quiet=quiet, verbose=verbose)
    set_progress(not quiet)


cli.add_command(data)
cli.add_command(eval_group)
cli.add_command(doctor)
cli.add_command(caption)
cli.add_command(teach_command)
cli.add_command(augment)
cli.add_command(store)
cli.add_command(train)
cli.add_command(predict)
cli.add_command(export)
cli.add_command(evaluate_command)
cli.add_command(run_command)
cli.add_command(study)
cli.add_command(config_group)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("COTPD_DEBUG") == "1"
    set_offline_switches()
    try:
        cli.main(args=argv, prog_name="cotpd", standalone_mode=False)
        close_process_group()
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except CotpdError as error:
        if debug:
            raise
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    except OSError as error:
        if debug:
            raise
        where = f": {error.filename}" if error.filename else ""
        click.echo(f"error: {error.strerror or error}{where}", err=True)
        sys.exit(2)


def close_process_group() -> None:
    """After a distributed command that succeeded: wait for every rank, then tear the
    process group down. A Gloo group left to the interpreter's exit can abort the process
    (SIGABRT, "terminate called without an active exception") after the work is done. Not
    on failure: a barrier there would wait for ranks that are gone."""
    torch = sys.modules.get("torch")  # a command that never loaded torch has no group
    if torch is None or not torch.distributed.is_available():
        return
    if torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
