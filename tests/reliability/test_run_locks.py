"""One writer per run directory and per knowledge store: a `cotpd teach` subprocess holds
them while a second `cotpd` (this test's process) tries the same run, another run on the same
store, and then, once the holder is SIGKILLed, takes the stale lock over and says so."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from cotpd.corpus.lock import RUN_LOCK, hold_lock
from harness import REPO, ServerProcess, cotpd_command, teach_args

from tests.fake_openai_server import FakeOpenAIServer


def holder_of(lock: Path) -> dict:
    try:
        return json.loads(lock.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def wait_for_holder(lock: Path, child: subprocess.Popen, timeout_s: float = 180) -> dict:
    deadline = time.monotonic() + timeout_s
    while holder_of(lock).get("pid") != child.pid:
        assert child.poll() is None, child.stderr.read() if child.stderr else child.returncode
        assert time.monotonic() < deadline, "the holder never took its lock"
        time.sleep(0.05)
    return holder_of(lock)


def one_error(result) -> str:
    lines = result.err.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), \
        result.err[-2000:]
    return lines[0]


def test_a_second_cotpd_on_a_busy_run_or_store_is_refused_then_takes_over_a_stale_lock(
        tmp_path: Path, cotpd) -> None:
    store = tmp_path / "shared" / "store.sqlite"
    run_dir, lock = tmp_path / "out" / "demo_mner", tmp_path / "out" / "demo_mner" / RUN_LOCK
    shared = ("--set", f"teacher.store={store}")
    # A teacher that answers nothing for a minute keeps the holder inside its stage.
    with ServerProcess(tmp_path / "server.log", default="slow:60") as slow:
        child = subprocess.Popen(
            cotpd_command(*teach_args(tmp_path / "out", slow.url, *shared,
                                      "--set", "teacher.openai.timeout_s=60")),
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            holder = wait_for_holder(lock, child)
            assert holder["command"].startswith("cotpd teach ")
            with FakeOpenAIServer() as ok:
                retry = one_error(cotpd(*teach_args(tmp_path / "out", ok.url, *shared),
                                        "--retry-failed"))
                assert f"the run directory {run_dir} is in use by pid {child.pid} " \
                       f"(cotpd teach " in retry and str(lock) in retry
                again = one_error(cotpd("run", *teach_args(tmp_path / "out", ok.url)[1:],
                                        "--only", "teach"))
                assert f"in use by pid {child.pid}" in again
                # Another run directory, the same store: the store is the busy one (the
                # holder takes it once its stage has loaded, a moment after the run's).
                wait_for_holder(store.with_name("store.sqlite.lock"), child)
                other = one_error(cotpd(*teach_args(tmp_path / "other", ok.url, *shared)))
                assert f"the knowledge store {store} is in use by pid {child.pid}" in other
                assert ok.requests == []  # nobody asked the teacher twice
                child.send_signal(signal.SIGKILL)
                child.wait()
                taken = cotpd(*teach_args(tmp_path / "out", ok.url, *shared))
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    assert taken.exit_code == 0, taken.err[-2000:]
    assert f"took over the stale lock of the run directory {run_dir} from pid {child.pid} " \
           "(cotpd teach" in taken.err
    assert f"took over the stale lock of the knowledge store {store}" in taken.err
    assert not lock.exists() and not store.with_name("store.sqlite.lock").exists()


def test_the_lock_is_reentrant_in_a_process_and_gone_after(tmp_path: Path) -> None:
    lock = tmp_path / "run" / RUN_LOCK
    with hold_lock(lock, "the run"):
        with hold_lock(lock, "the run"):  # `cotpd run` holds it and calls a stage
            assert holder_of(lock)["command"]
        assert lock.exists()
    assert not lock.exists()


def test_a_store_lock_waits_for_its_holder_when_asked(tmp_path: Path,
                                                      monkeypatch) -> None:
    """Study cells on a cluster share a store: with COTPD_STORE_WAIT_S a second process
    waits for the holder (and says so once) instead of failing; without it, it fails."""
    import pytest
    from cotpd.corpus.errors import CotpdError
    from cotpd.corpus.lock import store_lock

    store = tmp_path / "store.sqlite"
    holder = subprocess.Popen(
        ["python3", "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'w'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(3)",
         str(tmp_path / "store.sqlite.lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.delenv("COTPD_STORE_WAIT_S", raising=False)
        with pytest.raises(CotpdError, match="is in use by"), store_lock(store):
            pass
        said: list[str] = []
        monkeypatch.setenv("COTPD_STORE_WAIT_S", "60")
        began = time.monotonic()
        with store_lock(store, say=said.append):
            waited = time.monotonic() - began  # the holder kept it 3 s after saying so
        assert 1.5 < waited < 30
        assert len(said) == 1 and "waiting up to 60 s" in said[0]
    finally:
        holder.kill()
        holder.wait()
