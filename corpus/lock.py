"""One writer per run directory and per knowledge store, across processes.

The lock is an `flock` on a small file that names its holder (pid, host, command, time).
The kernel drops an flock when its process dies, however it dies, so a lock is never stuck;
the file a killed holder leaves behind is what tells the next process that it took over a
stale lock, and from whom. A second process while the holder lives gets a one-line error
naming it. Within one process the lock is re-entrant (`cotpd run` holds the run's lock and
calls the stages, which take it again).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cotpd.corpus.errors import CotpdError

RUN_LOCK = ".cotpd.lock"

logger = logging.getLogger(__name__)
_held: dict[str, tuple[int, int]] = {}  # resolved lock path -> (fd, depth), this process
_guard = threading.Lock()


def _say(message: str) -> None:
    logger.warning(message)  # stderr on the console, and the stage's log


def _command() -> str:
    """What the holder runs, as a user would type it (`python -m cotpd.pipeline.cli` is cotpd)."""
    argv = list(sys.argv) or ["python"]
    program = Path(argv[0])
    name = "cotpd" if program.parts[-2:] == ("pipeline", "cli.py") else program.name
    return " ".join([name, *argv[1:]])[:300]


def _describe(holder: dict[str, Any]) -> str:
    since = holder.get("since")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since)) if since else "?"
    host = holder.get("host")
    where = f" on {host}" if host and host != socket.gethostname() else ""
    return f"pid {holder.get('pid', '?')}{where} ({holder.get('command') or '?'}), since {when}"


def _read_holder(fd: int) -> dict[str, Any]:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 4096)
    try:
        holder = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, ValueError):
        holder = {}
    return holder if isinstance(holder, dict) else {}


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _open_locked(path: Path, what: str, wait_s: float = 0.0,
                 say: Callable[[str], None] = _say) -> int:
    """An fd of `path` holding its flock, the same file the path names (a holder that
    released and removed it in between would leave us locking a deleted file). While another
    process holds it, wait up to `wait_s` seconds before failing."""
    deadline = time.monotonic() + wait_s
    waiting = False
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:  # a read-only folder or file system: name what is locked
            raise CotpdError(f"cannot lock {what}: {error.strerror.lower()} writing its lock "
                             f"file {path} (the folder must be writable)") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES):
                os.close(fd)
                raise
            holder = _read_holder(fd)
            os.close(fd)
            pid = holder.get("pid")
            gone = isinstance(pid, int) and holder.get("host") == socket.gethostname() \
                and not pid_alive(pid)
            extra = " (that process is gone, but a child of it still holds the lock)" \
                if gone else ""
            if time.monotonic() < deadline:
                if not waiting:
                    say(f"{what} is in use by {_describe(holder)}; waiting up to "
                        f"{wait_s:.0f} s for it")
                    waiting = True
                time.sleep(min(2.0, max(0.0, deadline - time.monotonic())))
                continue
            raise CotpdError(f"{what} is in use by {_describe(holder)}{extra}; wait for it to "
                             f"finish or stop it (lock file {path})") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def _acquire(path: Path, what: str, say: Callable[[str], None], wait_s: float = 0.0) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _open_locked(path, what, wait_s, say)
    try:
        stale = _read_holder(fd)
        if stale:  # a holder that released cleanly removes the file: this one was killed
            say(f"note: took over the stale lock of {what} from {_describe(stale)}, which "
                "ended without releasing it")
        record = {"pid": os.getpid(), "host": socket.gethostname(), "command": _command(),
                  "since": time.time()}
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(record) + "\n").encode("utf-8"))
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _release(path: Path, fd: int) -> None:
    # Removed while still locked, so no other process can find our record and call it stale.
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    os.close(fd)


@contextlib.contextmanager
def hold_lock(path: str | Path, what: str, say: Callable[[str], None] = _say,
              wait_s: float = 0.0) -> Iterator[Path]:
    """Hold the lock file `path` for the block; `what` names the locked thing in messages.
    Another process's hold is waited for up to `wait_s` seconds, then an error."""
    path = Path(path).absolute()
    key = str(path)
    with _guard:
        if key in _held:
            fd, depth = _held[key]
            _held[key] = (fd, depth + 1)
        else:
            _held[key] = (_acquire(path, what, say, wait_s), 1)
    try:
        yield path
    finally:
        with _guard:
            fd, depth = _held[key]
            if depth > 1:
                _held[key] = (fd, depth - 1)
            else:
                del _held[key]
                _release(path, fd)


def run_dir_lock(run_dir: str | Path,
                 say: Callable[[str], None] = _say) -> contextlib.AbstractContextManager[Path]:
    """The lock of a run directory, held by the stage writing into it."""
    return hold_lock(Path(run_dir) / RUN_LOCK, f"the run directory {run_dir}", say)


STORE_WAIT_ENV = "COTPD_STORE_WAIT_S"


def store_lock(store_path: str | Path, say: Callable[[str], None] = _say,
               wait_s: float | None = None) -> contextlib.AbstractContextManager[Path]:
    """The lock of a knowledge store, held by the stage that asks a teacher into it. A store
    another process writes is waited for `wait_s` seconds (default: $COTPD_STORE_WAIT_S, else
    0): study cells running as parallel jobs take turns, and the later ones reuse the
    answers the first one stored."""
    store_path = Path(store_path)
    if wait_s is None:
        raw = os.environ.get(STORE_WAIT_ENV, "0")
        try:
            wait_s = float(raw)
        except ValueError:
            raise CotpdError(f"${STORE_WAIT_ENV}={raw!r}: expected seconds, e.g. 3600") from None
    return hold_lock(store_path.with_name(store_path.name + ".lock"),
                     f"the knowledge store {store_path}", say, wait_s)
