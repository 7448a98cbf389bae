"""The `openai` teacher backend against a real local HTTP server with scripted faults.

Malformed JSON (a 200 whose body does not parse) is recorded as an error at once, not retried:
a server that answers garbage will answer it again, and the runner can retry the sample later.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cotpd.teacher import openai_backend
from cotpd.teacher.backend import GenerationRequest, GenerationResult, SamplingParams
from cotpd.teacher.config import OpenAIServerConfig, TeacherConfig
from cotpd.teacher.factory import build_teacher
from cotpd.teacher.openai_backend import OpenAIBackend
from llama_index.llms.openai_like import OpenAILike

from tests.fake_openai_server import FakeOpenAIServer

IMAGE = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
         "+A8AAQUBAScY42YAAAAASUVORK5CYII=")


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


def backend_for(*urls: str, chat: bool = False, sampling: SamplingParams | None = None,
                **server: Any) -> OpenAIBackend:
    """Small timeouts and backoffs so every fault resolves in well under a second."""
    fast: dict[str, Any] = {"timeout_s": 1.0, "max_retries": 3, "backoff_base_s": 0.01,
                            "backoff_max_s": 0.05}
    config = OpenAIServerConfig(base_urls=list(urls), **{**fast, **server})
    return OpenAIBackend(config, "teacher", chat=chat, sampling=sampling)


def run(backend: OpenAIBackend, requests: list[GenerationRequest]) -> dict[str, GenerationResult]:
    """Generate, checking `on_result` came once per request; results by key."""
    seen: list[tuple[str, GenerationResult]] = []
    backend.generate(requests, lambda request, result: seen.append((request.key, result)))
    assert sorted(key for key, _ in seen) == sorted(r.key for r in requests)
    return dict(seen)


def ask(server: FakeOpenAIServer, *script: str, **overrides: Any) -> GenerationResult:
    """One completion request after scripting the server's next behaviours."""
    server.push(*script)
    backend = backend_for(server.url, **overrides)
    return run(backend, [GenerationRequest(key="k", prompt="Explain: Obama visits Paris")])["k"]


def test_completion_requests_are_answered(server: FakeOpenAIServer) -> None:
    sampling = SamplingParams(temperature=0.0, top_p=0.9, seed=7, extra={"top_k": 5})
    backend = backend_for(server.url, sampling=sampling)
    requests = [GenerationRequest(key=f"s{i}", prompt=f"Q: sample {i}\nA:", stop=("\n\n",),
                                  max_tokens=64) for i in range(5)]
    results = run(backend, requests)
    assert all(r.ok for r in results.values())
    assert results["s3"].text == "answer to: Q: sample 3\nA:"
    assert results["s3"].finish_reason == "stop"
    assert results["s3"].prompt_tokens == 4 and results["s3"].completion_tokens == 6
    assert results["s3"].latency_s > 0
    body = next(r["body"] for r in server.requests if r["body"]["prompt"] == "Q: sample 3\nA:")
    assert server.requests[0]["path"] == "/v1/completions"
    assert body["model"] == "teacher" and body["max_tokens"] == 64 and body["stop"] == ["\n\n"]
    assert body["temperature"] == 0.0 and body["top_p"] == 0.9 and body["seed"] == 7
    assert body["top_k"] == 5  # SamplingParams.extra reaches the body (vLLM's extra params)


def test_chat_requests_use_the_chat_endpoint(server: FakeOpenAIServer) -> None:
    backend = backend_for(server.url, chat=True)
    messages = [{"role": "system", "content": "You explain tweets."},
                {"role": "user", "content": "Explain the sentence: RT @user Lakers win"}]
    result = run(backend, [GenerationRequest(key="c", messages=messages)])["c"]
    assert result.ok and result.text == "answer to:  RT @user Lakers win"
    assert result.finish_reason == "stop" and result.completion_tokens == 6
    assert server.requests[0]["path"] == "/v1/chat/completions"
    assert server.requests[0]["body"]["messages"] == messages


def test_image_url_parts_reach_the_server(server: FakeOpenAIServer) -> None:
    backend = backend_for(server.url, chat=True)
    content = [{"type": "text", "text": "What is the relation between text and image?"},
               {"type": "image_url", "image_url": {"url": IMAGE}},
               {"type": "image_url", "image_url": {"url": "http://img.test/a.jpg"}}]
    result = run(backend, [GenerationRequest(key="m", messages=[
        {"role": "user", "content": content}])])["m"]
    assert result.ok
    sent = server.requests[0]["body"]["messages"][0]["content"]
    assert sent == content


def test_image_parts_on_the_completion_endpoint_are_refused(server: FakeOpenAIServer) -> None:
    backend = backend_for(server.url, chat=False)
    content = [{"type": "image_url", "image_url": {"url": IMAGE}}]
    result = run(backend, [GenerationRequest(key="m", messages=[
        {"role": "user", "content": content}])])["m"]
    assert result.error is not None and result.error.startswith("bad request")
    assert server.requests == []


def test_requests_run_concurrently(server: FakeOpenAIServer) -> None:
    # Each answer waits until 8 requests are in flight: only 8 concurrent requests get
    # answered, and the server counts them, whatever the machine's speed.
    server.push(*["together:8"] * 8)
    backend = backend_for(server.url, concurrency=8, timeout_s=30)
    results = run(backend, [GenerationRequest(key=str(i), prompt=f"p{i}") for i in range(8)])
    assert all(r.ok for r in results.values())
    assert server.max_in_flight == 8 and len(server.requests) == 8  # none timed out


def test_concurrency_is_a_limit(server: FakeOpenAIServer) -> None:
    server.push(*["together:3"] * 9)
    backend = backend_for(server.url, concurrency=3, timeout_s=30)
    results = run(backend, [GenerationRequest(key=str(i), prompt=f"p{i}") for i in range(9)])
    assert all(r.ok for r in results.values())
    assert server.max_in_flight == 3 and len(server.requests) == 9


def test_server_error_is_retried(server: FakeOpenAIServer) -> None:
    result = ask(server, "500", "503")
    assert result.ok and result.text.startswith("answer to:")
    assert [r["behaviour"] for r in server.requests] == ["500", "503", "ok"]


def test_server_errors_past_max_retries_are_recorded(server: FakeOpenAIServer) -> None:
    result = ask(server, *["500"] * 3, max_retries=2)
    assert result.error == "http 500 after 2 retries"
    assert len(server.requests) == 3


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The backoff waits the retries asked for (they still sleep)."""
    asked: list[float] = []
    sleep = asyncio.sleep

    async def recording_sleep(seconds: float, *args: Any) -> Any:
        if seconds > 0:  # the event loop's own zero-second yields are no backoff
            asked.append(seconds)
        return await sleep(seconds, *args)

    monkeypatch.setattr(asyncio, "sleep", recording_sleep)
    return asked


def test_rate_limit_honours_retry_after(server: FakeOpenAIServer, waits: list[float]) -> None:
    result = ask(server, "429:0.3", backoff_max_s=1.0)
    assert result.ok and result.latency_s >= 0.3
    assert waits == [0.3]
    capped = ask(server, "429:100", backoff_max_s=0.1)  # capped by backoff_max_s
    assert capped.ok and waits == [0.3, 0.1]
    assert [r["behaviour"] for r in server.requests] == ["429:0.3", "ok", "429:100", "ok"]


def test_backoff_is_jittered_exponential_and_capped(server: FakeOpenAIServer,
                                                      waits: list[float]) -> None:
    result = ask(server, *["500"] * 4, max_retries=4, backoff_base_s=0.01, backoff_max_s=0.03)
    assert result.ok and len(waits) == 4
    # Full jitter: each wait lies in [0, min(max, base * 2**attempt)].
    for attempt, wait in enumerate(waits):
        assert 0 <= wait <= min(0.03, 0.01 * 2**attempt)


def test_slow_answer_times_out_and_is_retried(server: FakeOpenAIServer) -> None:
    result = ask(server, "slow:2", timeout_s=0.2)
    assert result.ok and [r["behaviour"] for r in server.requests] == ["slow:2", "ok"]


def test_timeouts_past_max_retries_are_recorded(server: FakeOpenAIServer) -> None:
    result = ask(server, *["slow:2"] * 3, timeout_s=0.2, max_retries=2)
    assert result.error == "timeout after 2 retries"  # each attempt gave up before its answer
    assert len(server.requests) == 3


def test_dropped_connection_is_retried(server: FakeOpenAIServer) -> None:
    result = ask(server, "drop")
    assert result.ok and [r["behaviour"] for r in server.requests] == ["drop", "ok"]


def test_malformed_json_is_an_error_at_once(server: FakeOpenAIServer) -> None:
    result = ask(server, "malformed")
    assert result.error is not None and result.error.startswith("malformed response: ")
    assert len(server.requests) == 1


@pytest.mark.parametrize("chat", [False, True])
def test_a_completion_without_choices_is_malformed(server: FakeOpenAIServer, chat: bool) -> None:
    server.push("nochoices")
    backend = backend_for(server.url, chat=chat)
    request = (GenerationRequest(key="k", messages=[{"role": "user", "content": "hi"}]) if chat
               else GenerationRequest(key="k", prompt="hi"))
    result = run(backend, [request])["k"]
    assert result.error is not None and result.error.startswith("malformed response: no choices")
    assert len(server.requests) == 1  # not retried


def test_a_bug_before_any_answer_raises(server: FakeOpenAIServer,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # A parameter the client does not take is a TypeError of ours, not a server's fault.
    monkeypatch.setattr(OpenAIBackend, "_call_kwargs",
                        lambda self, request: {"max_tokens": 8, "no_such_parameter": 1})
    backend = backend_for(server.url)
    with pytest.raises(TypeError, match="no_such_parameter"):
        run(backend, [GenerationRequest(key="k", prompt="p")])
    assert server.requests == []


def test_a_bug_after_a_well_formed_answer_raises(server: FakeOpenAIServer,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """An AttributeError met after a 200 that is a whole completion is no "malformed
    response": the run stops with it, instead of failing every row quietly."""

    class Broken(OpenAILike):
        async def acomplete(self, *args: Any, **kwargs: Any) -> Any:
            await super().acomplete(*args, **kwargs)
            raise AttributeError("'CompletionResponse' object has no attribute 'txt'")

    monkeypatch.setattr(openai_backend, "OpenAILike", Broken)
    backend = backend_for(server.url)
    with pytest.raises(AttributeError, match="txt"):
        run(backend, [GenerationRequest(key="k", prompt="p")])
    assert [r["behaviour"] for r in server.requests] == ["ok"]


def test_context_length_error_is_not_retried(server: FakeOpenAIServer) -> None:
    result = ask(server, "context")
    assert result.error is not None and result.error.startswith("context_length: ")
    assert "maximum context length is 2048" in result.error
    assert len(server.requests) == 1


def test_other_client_errors_are_not_retried(server: FakeOpenAIServer) -> None:
    result = ask(server, "404")
    assert result.error == "http 404: fake 404" and len(server.requests) == 1


def test_empty_completion_is_an_answer(server: FakeOpenAIServer) -> None:
    result = ask(server, "empty")
    assert result.ok and result.text == "" and result.finish_reason == "stop"


def test_missing_usage_leaves_token_counts_unknown(server: FakeOpenAIServer) -> None:
    result = ask(server, "nousage")
    assert result.ok and result.prompt_tokens is None and result.completion_tokens is None


def test_server_that_dies_and_comes_back(server: FakeOpenAIServer) -> None:
    server.push(*["slow:5"] * 4)  # four requests in flight when the server dies
    backend = backend_for(server.url, concurrency=4, max_retries=10, backoff_base_s=0.05,
                          backoff_max_s=0.3)
    requests = [GenerationRequest(key=str(i), prompt=f"prompt {i}") for i in range(8)]
    results: dict[str, GenerationResult] = {}
    runner = threading.Thread(target=lambda: results.update(run(backend, requests)))
    runner.start()
    deadline = time.monotonic() + 5
    while len(server.requests) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.stop()
    time.sleep(0.4)  # refused connections meanwhile
    server.start()
    runner.join(timeout=20)
    assert not runner.is_alive()
    assert len(results) == 8 and all(r.ok for r in results.values())
    assert [r["behaviour"] for r in server.requests[:4]] == ["slow:5"] * 4
    assert len(server.requests) == 12  # the four cut off were asked again


def test_replicas_share_the_requests() -> None:
    with FakeOpenAIServer() as first, FakeOpenAIServer() as second:
        backend = backend_for(first.url, second.url, concurrency=2)
        results = run(backend, [GenerationRequest(key=str(i), prompt="p") for i in range(6)])
        assert all(r.ok for r in results.values())
        assert len(first.requests) == 3 and len(second.requests) == 3


def test_fingerprint_ignores_replica_count() -> None:
    one = backend_for("http://a/v1", sampling=SamplingParams(seed=3))
    two = backend_for("http://a/v1", "http://b/v1", sampling=SamplingParams(seed=3))
    assert one.fingerprint_parts() == two.fingerprint_parts()
    assert one.fingerprint_parts()["sampling"]["seed"] == 3
    assert one.fingerprint_parts()["model"] == "teacher"


def test_fingerprints_from_a_config_are_stable() -> None:
    """The store keys answers by this fingerprint: if it moved, every stored answer would
    be asked again."""
    default = build_teacher(TeacherConfig(backend="openai"))
    tuned = build_teacher(TeacherConfig(
        backend="openai", style="chat", model="m",
        sampling={"temperature": 0.7, "top_p": 0.9, "max_tokens": 33, "seed": 5},
        openai={"base_urls": ["http://a/v1", "http://b/v1"], "concurrency": 3}))
    assert default.fingerprint == "62c01b2d125dcee5"
    assert tuned.fingerprint == "7781e643a7df9cf4"
    assert tuned.backend.fingerprint_parts()["sampling"] == {
        "temperature": 0.7, "top_p": 0.9, "max_tokens": 33, "seed": 5, "extra": {}}


def test_callback_errors_stop_the_run(server: FakeOpenAIServer) -> None:
    def store(request: GenerationRequest, result: GenerationResult) -> None:
        raise OSError("disk full")

    backend = backend_for(server.url)
    with pytest.raises(OSError, match="disk full"):
        backend.generate([GenerationRequest(key="k", prompt="p")], store)
