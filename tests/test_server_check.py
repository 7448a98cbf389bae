"""The teach stage checks the HTTP teacher before asking: no server, or a server that serves
another model, is one error line and no stored failure; a replica that is down while
another answers is left to the retries."""

import socket
import sqlite3
from pathlib import Path

import pytest
from fake_openai_server import FakeOpenAIServer

from corpus.errors import CotpdError
from teacher.server_check import require_server, served_models

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "configs" / "demo_mner.yaml"


def _closed_port_url() -> str:
    """A loopback URL where nothing listens (the port was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_a_served_model_is_found_and_a_missing_one_named() -> None:
    with FakeOpenAIServer(served_model="gemma3-270m") as server:
        assert served_models(server.url, "EMPTY") == ["gemma3-270m"]
        assert require_server([server.url], "gemma3-270m") == {server.url: ["gemma3-270m"]}
        with pytest.raises(CotpdError, match=r"serves gemma3-270m, not 'qwen'"):
            require_server([server.url], "qwen")


def test_no_answering_server_fails_with_the_start_hint() -> None:
    nowhere = _closed_port_url()
    assert served_models(nowhere, "EMPTY", timeout_s=2) is None
    with pytest.raises(CotpdError, match=r"no teacher server answers at .*serve_teacher\.sh"):
        require_server([nowhere], "fake", timeout_s=2)


def test_one_replica_down_is_left_to_the_retries() -> None:
    with FakeOpenAIServer() as server:
        up = require_server([_closed_port_url(), server.url], "fake", timeout_s=2)
    assert list(up) == [server.url]


def test_teach_with_no_server_stores_nothing(tmp_path: Path, cotpd) -> None:
    result = cotpd("teach", CONFIG, "--set", f"run.output_dir={tmp_path}",
                   "--set", "teacher.backend=openai", "--set", "teacher.name=fake",
                   "--set", f"teacher.openai.base_urls=[{_closed_port_url()}]")
    assert result.exit_code == 2
    error_lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(error_lines) == 1 and "no teacher server answers" in error_lines[0]
    store = tmp_path / "demo_mner" / "teacher" / "store.sqlite"
    if store.exists():  # the lock may create it; it must hold no answer rows
        with sqlite3.connect(store) as db:
            tables = {name for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table'")}
            if "answers" in tables:
                assert db.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 0
