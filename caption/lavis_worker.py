"""The LAVIS environment's side of the caption stage: `python -m cotpd.caption.lavis_worker
REQUEST.json RESULT.json` runs the stage there (started by caption.lavis_env) and writes its
summary, or the error a user can act on, to RESULT.json."""

from __future__ import annotations

import json
import logging
import sys
import warnings
from pathlib import Path
from typing import Any

from cotpd.caption.config import CaptionConfig
from cotpd.caption.lavis_env import SETUP_HINT, lavis_importable
from cotpd.caption.stage import run
from cotpd.caption.worker_logs import send_records_to
from cotpd.corpus.config import DataConfig
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.files import atomic_write_text
from cotpd.corpus.offline import set_offline_switches
from cotpd.corpus.progress import apply_progress_from_env

logger = logging.getLogger("cotpd.caption.lavis_worker")  # its name also when run as __main__


def _run(request: dict[str, Any]) -> dict[str, Any]:
    if not lavis_importable():  # else the stage would start another worker, and so on
        raise CotpdError(f"caption.lavis.python: {sys.executable} cannot import lavis; "
                         f"{SETUP_HINT}")
    config = CaptionConfig.model_validate(request["caption"])
    data = DataConfig.model_validate(request["data"])
    return run(config, data, Path(request["run_dir"]), retry_failed=request["retry_failed"]
               ).summary


def main(argv: list[str] | None = None) -> int:
    """`python -m cotpd.caption.lavis_worker REQUEST.json RESULT.json`: the summary, or the error
    a user can act on, goes to RESULT.json."""
    request_path, result_path = (Path(a) for a in (sys.argv[1:] if argv is None else argv))
    set_offline_switches()  # before LAVIS imports transformers
    request = json.loads(request_path.read_text("utf-8"))
    if request.get("log_fd") is not None:
        send_records_to(request["log_fd"])
    apply_progress_from_env()
    logger.info("LAVIS worker: %s captions in this environment", sys.executable)
    # LAVIS 1.0.2 and its pins predate torch 2.14: their deprecation notices ask nothing of
    # a user, and would bury the progress bar.
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    try:
        result, code = {"summary": _run(request)}, 0
    except CotpdError as error:
        result, code = {"error": str(error)}, 2
    except OSError as error:  # an unreadable folder, a full disk: as the cotpd command says it
        where = f": {error.filename}" if error.filename else ""
        result, code = {"error": f"{error.strerror or error}{where}"}, 2
    atomic_write_text(result_path, json.dumps(result) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
