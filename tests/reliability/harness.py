"""What the reliability tests share: the fake teacher as a separate server process that can
be SIGKILLed and started again on its port, `cotpd` as a subprocess (killable at a chosen
moment), and checks that a run directory holds no torn file."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SERVER_SCRIPT = REPO / "tests" / "fake_openai_server.py"
DEMO_CONFIG = REPO / "configs" / "demo_mner.yaml"
DEMO_SAMPLES = 150  # 90 + 30 + 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    """The fake OpenAI server in its own process; its request log survives kills."""

    def __init__(self, log: Path, default: str = "ok", script: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.log, self.default, self.script = log, default, script
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout_s: float = 30) -> ServerProcess:
        command = [sys.executable, str(SERVER_SCRIPT), "--port", str(self.port),
                   "--default", self.default, "--log", str(self.log),
                   "--script", ",".join(self.script)]
        self.script = ()  # a restarted server does not replay the faults
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                self._call("GET", "/_control/stats")
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"fake server did not start on port {self.port}")

    def kill(self) -> None:
        """Die like a crashed vLLM: SIGKILL, every connection reset."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.process = None

    def push(self, *behaviours: str) -> None:
        self._call("POST", "/_control/push", {"behaviours": list(behaviours)})

    def requests(self) -> list[dict[str, Any]]:
        """Every request any incarnation of the server saw, in arrival order."""
        if not self.log.is_file():
            return []
        lines = self.log.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.endswith("}")]

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data,
                                         method=method)
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()


def cotpd_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "cotpd.pipeline.cli", *map(str, args)]


def run_cotpd(*args: str, timeout_s: float = 600,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cotpd_command(*args), cwd=REPO, capture_output=True, text=True,
                          timeout=timeout_s, env=env)


def run_killed(args: list[str], after_s: float, timeout_s: float = 600) -> bool:
    """Start `cotpd ARGS` and SIGKILL it `after_s` seconds later; True when it was still
    running (a real kill), False when it had finished already."""
    child = subprocess.Popen(cotpd_command(*args), cwd=REPO, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env={**os.environ})
    try:
        child.wait(timeout=after_s)
        return False
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=timeout_s)
        return True


KILLPOINT = Path(__file__).resolve().parent / "killpoint.py"


def run_killed_at(point: str, at: int, *args: str,
                  timeout_s: float = 600) -> subprocess.CompletedProcess[str]:
    """`cotpd ARGS` that SIGKILLs itself the `at`-th time it reaches `point` (killpoint.py)."""
    return subprocess.run([sys.executable, str(KILLPOINT), point, str(at), *map(str, args)],
                          cwd=REPO, capture_output=True, text=True, timeout=timeout_s)


PR_CAPBSET_DROP, CAP_DAC_OVERRIDE = 24, 1


def drop_root_override() -> None:
    """In a child before exec: as root, give up CAP_DAC_OVERRIDE for good (from the bounding
    set, so the exec'd program has it neither), so file permissions bind root too."""
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) refused")


def run_cotpd_faulty(*args: str, file_size_limit: int | None = None,
                     timeout_s: float = 600) -> subprocess.CompletedProcess[str]:
    """`cotpd ARGS` where permissions bind even root, and, with `file_size_limit`, no file
    can grow past that many bytes (RLIMIT_FSIZE: a write past it fails with EFBIG, "File
    too large", as a full disk fails with ENOSPC)."""
    def limit() -> None:
        drop_root_override()
        if file_size_limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an error, not a killed process
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return subprocess.run(cotpd_command(*args), cwd=REPO, capture_output=True, text=True,
                          timeout=timeout_s, preexec_fn=limit)


def leftovers(folder: Path) -> list[str]:
    """What a killed writer can leave behind and a finished run must not: temporaries of
    atomic writes, SQLite rollback journals and WAL files, lock files, `tmp*` staging."""
    found = []
    for path in sorted(folder.rglob("*")):
        name = path.name
        if (name.endswith((".tmp", "-journal", "-wal", "-shm", ".lock"))
                or name.startswith("tmp")):
            found.append(str(path.relative_to(folder)))
    return found


def teach_args(out_dir: Path, url: str, *extra: str, prompts: str = "[noun]") -> list[str]:
    """`cotpd teach` of the demo set against `url`, fast-failing settings."""
    return ["teach", str(DEMO_CONFIG), "--set", f"run.output_dir={out_dir}",
            "--set", "teacher.backend=openai", "--set", "teacher.name=fake",
            "--set", f"teacher.openai.base_urls=[{url}]", "--set", "teacher.openai.model=fake",
            "--set", f"teacher.knowledge.prompts={prompts}", *extra]


def caption_args(out_dir: Path, model: Path, batch_size: int) -> list[str]:
    """`cotpd caption` of the demo set with a tiny BLIP-2, three new tokens a caption."""
    return ["caption", str(DEMO_CONFIG), "--set", f"run.output_dir={out_dir}",
            "--set", "caption.backend=transformers", "--set", f"caption.model={model}",
            "--set", "caption.max_new_tokens=3", "--set", f"caption.batch_size={batch_size}"]


def store_rows(store: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(store) as db:
        return db.execute("SELECT prompt_id, sample_key, error FROM answers "
                          "ORDER BY prompt_id, sample_key").fetchall()


def assert_sqlite_intact(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path)) as db:  # closed: no -wal left by us
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", path


def torn_jsonl_lines(run_dir: Path, appended: tuple[str, ...] = ()) -> list[str]:
    """Lines of `*.jsonl` / `*.json` files under `run_dir` that do not parse. Files named in
    `appended` are written line by line and may end in one partial line (the next start
    drops it), which is not counted; everything else is written atomically, so any torn line
    is a bug."""
    torn = []
    for path in sorted(run_dir.rglob("*.json*")):
        if path.name.startswith(".") or path.suffix not in (".json", ".jsonl"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".json":
            try:
                json.loads(text)
            except ValueError:
                torn.append(f"{path}: not whole JSON")
            continue
        lines = text.split("\n")
        if path.name in appended or lines[-1] == "":
            lines = lines[:-1]  # a partial last line of an appended file, or the final ""
        for number, line in enumerate(lines, start=1):
            try:
                json.loads(line)
            except ValueError:
                torn.append(f"{path}:{number}: {line[:60]!r}")
    return torn
