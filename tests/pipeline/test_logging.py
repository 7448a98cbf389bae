"""Logging: a stage's messages go to the console and to `<run>/logs/<stage>.log`; --quiet
keeps only the summary (and warnings) on the console, --verbose adds debug; a failure is
recorded in the log while the console keeps its one `error:` line. The caption stage from a
caption file is quick and loads no model."""

from __future__ import annotations

import logging
from pathlib import Path

from cotpd.corpus.progress import set_progress
from cotpd.corpus.run_files import RunFiles
from cotpd.pipeline.logs import ConsoleHandler, configure_console

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / "configs" / "demo_mner.yaml")
STATUS = "150 images: "  # the caption stage's own info message (caption.stage)
SUMMARY = "[caption] captions (file, "  # the summary the command prints
DEBUG = "[caption] manifest -> "  # the orchestrator's debug message
BAR_MARKS = ("caption: ", "img/s", "100%|")  # what tqdm draws for the caption stage


def caption(cotpd, out: Path, *flags: str):
    result = cotpd(*flags, "caption", CONFIG, "--set", f"run.output_dir={out}")
    assert result.exit_code == 0, result.err[-2000:]
    return result


def test_the_log_file_holds_the_stage_messages_at_every_level(tmp_path: Path, cotpd) -> None:
    result = caption(cotpd, tmp_path)
    assert all(mark in result.err for mark in BAR_MARKS)  # the progress bar, without --quiet
    assert STATUS in result.out and SUMMARY in result.out and DEBUG not in result.out
    log = RunFiles(tmp_path / "demo_mner").log("caption").read_text(encoding="utf-8")
    lines = log.splitlines()
    assert any(" INFO cotpd.pipeline.stages: [caption] started" in line for line in lines)
    assert any(f" INFO cotpd.caption.stage: {STATUS}0 already captioned, 150 to caption" in line
               for line in lines)
    assert any(f" DEBUG cotpd.pipeline.stages: {DEBUG}" in line for line in lines)
    assert any(SUMMARY in line for line in lines)
    assert any("[caption] done in " in line for line in lines)
    again = caption(cotpd, tmp_path)  # a re-run adds to the log
    assert STATUS + "150 already captioned" in again.out
    assert RunFiles(tmp_path / "demo_mner").log("caption").read_text().startswith(log)


def test_quiet_keeps_the_summary_and_drops_info_from_the_console(tmp_path: Path,
                                                                 cotpd) -> None:
    try:
        result = caption(cotpd, tmp_path, "--quiet")
    finally:
        set_progress(True)  # as a command without --quiet would: for the tests after this one
    assert SUMMARY in result.out
    assert not any(mark in result.out + result.err for mark in BAR_MARKS), result.err
    assert STATUS not in result.out + result.err and "started" not in result.out
    assert STATUS in RunFiles(tmp_path / "demo_mner").log("caption").read_text()


def test_verbose_shows_debug_on_the_console(tmp_path: Path, cotpd) -> None:
    result = caption(cotpd, tmp_path, "--verbose")
    assert DEBUG in result.out and STATUS in result.out and SUMMARY in result.out
    both = cotpd("--quiet", "--verbose", "caption", CONFIG)
    assert both.exit_code == 2 and "exclude each other" in both.err


def test_a_failed_stage_is_in_its_log_and_one_line_on_stderr(tmp_path: Path, cotpd) -> None:
    result = cotpd("evaluate", CONFIG, "--set", f"run.output_dir={tmp_path}")
    assert result.exit_code == 2
    assert result.err.startswith("error: ") and result.err.count("\n") == 1
    log = RunFiles(tmp_path / "demo_mner").log("evaluate").read_text()
    assert " ERROR cotpd.pipeline.stages: [evaluate] failed: " in log
    assert "no trained student" in log


def test_warnings_go_to_stderr_and_info_to_stdout(capsys) -> None:
    configure_console()
    logging.getLogger("cotpd.teacher.test").info("an info line")
    logging.getLogger("cotpd.teacher.test").warning("a warning line")
    captured = capsys.readouterr()
    assert captured.out == "an info line\n" and captured.err == "a warning line\n"
    configure_console()  # configured again (each command does): still one console handler
    assert sum(isinstance(h, ConsoleHandler) for h in logging.getLogger().handlers) == 1
