"""The process boundary of the LAVIS captioner. LAVIS pins transformers <4.27, so the main
environment cannot import it: there `cotpd caption` (backend lavis) runs the whole caption
stage in the LAVIS environment as `python -m teacher.lavis_worker REQUEST RESULT`, and only
the captions file and a JSON summary cross over. Importable without torch or lavis."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corpus.errors import CotpdError
from corpus.files import atomic_write_text
from teacher.caption_config import CaptionConfig, LavisConfig
from teacher.lavis_files import check_lavis_files

if TYPE_CHECKING:
    from pipeline.config import RunConfig

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


def caption_in_lavis_env(run_config: RunConfig, run_dir: Path, config: CaptionConfig,
                         retry_failed: bool = False) -> dict[str, Any]:
    """Run the caption stage in the LAVIS environment; returns its summary. Its progress bar
    and log lines pass through; its errors come back as one CotpdError."""
    check_lavis_files(config.lavis)  # fail here, before the other environment starts
    python = lavis_python(config.lavis)
    request = {"run": run_config.run.model_dump(mode="json"),
               "data": run_config.data.model_dump(mode="json"),
               "caption": config.model_dump(mode="json"),
               "run_dir": str(run_dir), "retry_failed": retry_failed}
    # This checkout's code, whatever the other environment has installed.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH")) if p)}
    with tempfile.TemporaryDirectory(prefix="cotpd-lavis-") as folder:
        request_path, result_path = Path(folder) / "request.json", Path(folder) / "result.json"
        request_path.write_text(json.dumps(request), encoding="utf-8")
        command = [str(python), "-m", "teacher.lavis_worker", str(request_path), str(result_path)]
        code = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, check=False).returncode
        if not result_path.is_file():
            raise CotpdError(f"the LAVIS caption worker ({python}) stopped with exit code {code} "
                             "before it reported (its output is above)")
        result = json.loads(result_path.read_text(encoding="utf-8"))
    if "error" in result:
        raise CotpdError(result["error"])
    return result["summary"]


def _run(request: dict[str, Any]) -> dict[str, Any]:
    from pipeline.config import RunConfig
    from teacher.captioning import caption_stage

    if not lavis_importable():  # else caption_stage would start another worker, and so on
        raise CotpdError(f"caption.lavis.python: {sys.executable} cannot import lavis; "
                         f"{SETUP_HINT}")
    run_config = RunConfig.model_validate({"run": request["run"], "data": request["data"]})
    config = CaptionConfig.model_validate(request["caption"])
    return caption_stage(run_config, Path(request["run_dir"]), config,
                         retry_failed=request["retry_failed"])


def main(argv: list[str] | None = None) -> int:
    """`python -m teacher.lavis_worker REQUEST.json RESULT.json`: the summary, or the error
    a user can act on, goes to RESULT.json."""
    from pipeline.offline import set_offline_switches

    request_path, result_path = (Path(a) for a in (sys.argv[1:] if argv is None else argv))
    set_offline_switches()  # before LAVIS imports transformers
    # LAVIS 1.0.2 and its pins predate torch 2.14: their deprecation notices ask nothing of
    # a user, and would bury the progress bar.
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    try:
        result, code = {"summary": _run(json.loads(request_path.read_text("utf-8")))}, 0
    except CotpdError as error:
        result, code = {"error": str(error)}, 2
    except OSError as error:  # an unreadable folder, a full disk: as the cotpd command says it
        where = f": {error.filename}" if error.filename else ""
        result, code = {"error": f"{error.strerror or error}{where}"}, 2
    atomic_write_text(result_path, json.dumps(result) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
