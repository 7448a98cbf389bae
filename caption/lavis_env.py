"""The process boundary of the LAVIS captioner. LAVIS pins transformers <4.27, so the main
environment cannot import it: there `cotpd caption` (backend lavis) runs the whole caption
stage in the LAVIS environment as `python -m cotpd.caption.lavis_worker REQUEST RESULT`, and only
the captions file and a JSON summary cross over. Importable without torch or lavis."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from cotpd.caption.config import CaptionConfig, LavisConfig
from cotpd.caption.lavis_files import check_lavis_files
from cotpd.caption.worker_logs import forward_records
from cotpd.corpus.config import DataConfig
from cotpd.corpus.errors import CotpdError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SETUP_HINT = ("build it with `bash scripts/setup.sh lavis`, or point caption.lavis.python at "
              "the python of a conda env made from environment-lavis.yml")


def lavis_importable() -> bool:
    """Whether this interpreter has LAVIS (found, not imported: importing it takes seconds)."""
    return importlib.util.find_spec("lavis") is not None


def lavis_python(config: LavisConfig) -> Path:
    """The LAVIS environment's interpreter (caption.lavis.python, else .venv-lavis)."""
    python = config.python or PROJECT_ROOT / ".venv-lavis" / "bin" / "python"
    python = Path(python).expanduser()
    if not python.is_file():
        raise CotpdError(f"caption.lavis.python: {python} does not exist: the LAVIS captioner "
                         f"runs in an environment of its own; {SETUP_HINT}")
    return python


def caption_in_lavis_env(config: CaptionConfig, data: DataConfig, run_dir: Path,
                         retry_failed: bool = False) -> dict[str, Any]:
    """Run the caption stage in the LAVIS environment; returns its summary. Its progress bar
    passes through, its log records go through this process's loggers (console and
    caption.log); its errors come back as one CotpdError."""
    check_lavis_files(config.lavis)  # fail here, before the other environment starts
    python = lavis_python(config.lavis)
    request = {"data": data.model_dump(mode="json"),
               "caption": config.model_dump(mode="json"),
               "run_dir": str(run_dir), "retry_failed": retry_failed}
    # This checkout's code, whatever the other environment has installed.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH")) if p)}
    with tempfile.TemporaryDirectory(prefix="cotpd-lavis-") as folder:
        request_path, result_path = Path(folder) / "request.json", Path(folder) / "result.json"
        request_path.write_text(json.dumps(request), encoding="utf-8")
        command = [str(python), "-m", "cotpd.caption.lavis_worker", str(request_path),
                   str(result_path)]
        code = _run_worker(command, env, request_path, request)
        if not result_path.is_file():
            raise CotpdError(f"the LAVIS caption worker ({python}) stopped with exit code {code} "
                             "before it reported (its output is above)")
        result = json.loads(result_path.read_text(encoding="utf-8"))
    if "error" in result:
        raise CotpdError(result["error"])
    return result["summary"]


def _run_worker(command: list[str], env: dict[str, str], request_path: Path,
                request: dict[str, Any]) -> int:
    """Start the worker with a pipe for its log records (named in the request), forward the
    records as they come, and return its exit code."""
    read_fd, write_fd = os.pipe()
    request_path.write_text(json.dumps({**request, "log_fd": write_fd}), encoding="utf-8")
    try:
        worker = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL,
                                  pass_fds=(write_fd,))
    finally:
        os.close(write_fd)  # the worker holds the only writer: its exit ends the reading
    with os.fdopen(read_fd, encoding="utf-8") as records:
        forward_records(records)
    return worker.wait()
