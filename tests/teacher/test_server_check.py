"""The runner has the openai backend check its server before a prompt's first request: no
server, or a server that serves another model, is one error line and no stored failure, in
teach and augment alike; a run with every answer in the store needs no server; a replica
that is down while another answers is left to the retries."""

import socket
import sqlite3
from pathlib import Path

import pytest
from cotpd.corpus.errors import CotpdError
from cotpd.teacher.config import OpenAIServerConfig
from cotpd.teacher.openai_backend import OpenAIBackend
from cotpd.teacher.server_check import require_server, served_models

from tests.fake_openai_server import FakeOpenAIServer

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "configs" / "demo_mner.yaml"
AUGMENT_CONFIG = REPO / "configs" / "demo.yaml"


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


def _http_teacher(url: str) -> list[str]:
    return ["--set", "teacher.backend=openai", "--set", "teacher.name=fake",
            "--set", f"teacher.openai.base_urls=[{url}]"]


def _answer_rows(store: Path) -> int:
    if not store.exists():  # the lock may create it; it must hold no answer rows
        return 0
    with sqlite3.connect(store) as db:
        tables = {name for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type='table'")}
        return db.execute("SELECT COUNT(*) FROM answers").fetchone()[0] \
            if "answers" in tables else 0


def _one_error_line(err: str, text: str) -> None:
    error_lines = [line for line in err.splitlines() if line.strip()]
    assert len(error_lines) == 1 and text in error_lines[0], err


def test_teach_with_no_server_stores_nothing(tmp_path: Path, cotpd) -> None:
    result = cotpd("teach", CONFIG, "--set", f"run.output_dir={tmp_path}",
                   *_http_teacher(_closed_port_url()))
    assert result.exit_code == 2
    _one_error_line(result.err, "no teacher server answers")
    assert _answer_rows(tmp_path / "demo_mner" / "teacher" / "store.sqlite") == 0


def test_a_teach_with_every_answer_stored_needs_no_server(tmp_path: Path, cotpd) -> None:
    """A study re-runs the teach stage of each cell; once the store holds every answer it
    must not ask for a server that was stopped after teaching."""
    args = ["teach", CONFIG, "--set", f"run.output_dir={tmp_path}"]
    with FakeOpenAIServer() as server:
        first = cotpd(*args, *_http_teacher(server.url))
        asked = len([r for r in server.requests if r["path"].endswith("/completions")])
    assert first.exit_code == 0, first.err
    knowledge = tmp_path / "demo_mner" / "teacher" / "knowledge.jsonl"
    before = knowledge.read_bytes()
    assert asked > 0 and _answer_rows(tmp_path / "demo_mner" / "teacher" / "store.sqlite") == asked
    again = cotpd(*args, *_http_teacher(server.url))  # the server is stopped now
    assert again.exit_code == 0, again.err
    assert knowledge.read_bytes() == before


def test_augment_with_no_server_is_one_line(tmp_path: Path, cotpd) -> None:
    """Augment asks through the same backend, so it gets the same check (before: one
    connection-error failure row per augmentation prompt)."""
    result = cotpd("augment", AUGMENT_CONFIG, "--set", f"run.output_dir={tmp_path}",
                   *_http_teacher(_closed_port_url()))
    assert result.exit_code == 2
    _one_error_line(result.err, "no teacher server answers")
    assert _answer_rows(tmp_path / "demo" / "teacher" / "store.sqlite") == 0


def test_the_runner_checks_once_and_only_when_it_has_requests(tmp_path: Path,
                                                              monkeypatch) -> None:
    import cotpd.teacher.openai_backend as openai_backend
    from cotpd.corpus.records import MnerSample
    from cotpd.teacher.catalogue import load_catalogue
    from cotpd.teacher.runner import Teacher, run_prompt
    from cotpd.teacher.store import KnowledgeStore

    absent = OpenAIBackend(OpenAIServerConfig(base_urls=[_closed_port_url()]), "fake")
    with pytest.raises(CotpdError, match="no teacher server answers"):
        absent.check_ready()
    checks: list[str] = []

    def counted(*args, **kwargs):
        checks.append(args[1])
        return require_server(*args, **kwargs)

    monkeypatch.setattr(openai_backend, "require_server", counted)
    noun = load_catalogue()["noun"]
    samples = [MnerSample(id=f"s{i}", tokens=["Paris", "is", "big"], labels=["B-LOC", "O", "O"],
                          image_id=None) for i in range(3)]
    with FakeOpenAIServer() as server, KnowledgeStore(tmp_path / "store.sqlite") as store:
        backend = OpenAIBackend(OpenAIServerConfig(base_urls=[server.url]), "fake")
        teacher = Teacher(backend=backend, fingerprint="f", style="completion")
        first = run_prompt(samples[:2], noun, teacher, store)
        again = run_prompt(samples, noun, teacher, store)  # one more sample: no second check
        stored = run_prompt(samples, noun, teacher, store)  # nothing to ask
    assert (first.asked, again.asked, stored.asked) == (2, 1, 0)
    assert checks == ["fake"]
