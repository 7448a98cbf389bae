"""A real local OpenAI-compatible HTTP server with a programmable fault script.

Tests of the `openai` teacher backend talk to it over real sockets, so what they check is
what a vLLM server would see: the request bodies, the retries, the dropped connections.
Each request consumes one behaviour from the script (an empty script answers normally):

- `"ok"`: answer; `"empty"`: answer with empty text; `"nousage"`: answer without `usage`;
- `"length"`: an answer cut off at `max_tokens` (its first words, `finish_reason: "length"`);
- `"500"` (any 3-digit status): that status with an OpenAI-style error body;
- `"429:0.1"`: 429 with `Retry-After: 0.1`;
- `"slow:3"`: sleep 3 s, then answer (the client may have given up by then);
- `"drop"`: close the socket without a response;
- `"malformed"`: 200 with invalid JSON; `"nochoices"`: 200 JSON with an empty `choices`;
- `"together:4"`: hold the answer until 4 requests have been in flight at once (at most
  10 s), so that concurrency shows in `max_in_flight`, not in timing;
- `"context"`: vLLM's context length 400;
- `"truncated"`: a 200 whose body stops halfway, then the socket closes;
- `"hostile"`: answer with `HOSTILE`, text that must stay data (SQL, format fields, shell).

Run as a script (`python tests/fake_openai_server.py --port N`) it is a separate process that
tests can SIGKILL and start again on the same port; `POST /_control/push` appends to its
script and `--log FILE` appends one JSON line per request, so the record outlives a kill.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# What a hostile or confused LLM may write: SQL, format fields, shell, quotes, markup.
HOSTILE = ("'); DROP TABLE answers; -- {0.__class__} {text} %s %(x)s ${HOME} $(touch /tmp/x) "
           "`id` \"quoted\" \\ \n[Words] </s> <|im_end|> \u202e\u00e9\U0001F600")
CONTEXT_ERROR = (
    "This model's maximum context length is 2048 tokens. However, you requested 4096 tokens "
    "(3840 in the messages, 256 in the completion). Please reduce the length of the messages "
    "or completion."
)


def _last_prompt(body: dict[str, Any]) -> str:
    """The text the answer echoes: the prompt, or the last message's text parts."""
    if "prompt" in body:
        return str(body["prompt"])
    content = (body.get("messages") or [{}])[-1].get("content", "")
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if p.get("type") == "text")
    return str(content)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like uvicorn behind vLLM
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._track(self.connection, add=False)

    def do_GET(self) -> None:
        if self.path == "/_control/stats":  # readiness probe and request count
            self._send_json(200, {"requests": len(self.server.owner.requests)})
        elif self.path == "/v1/models":  # what vLLM lists: the served model name
            self._send_json(200, {"object": "list", "data": [
                {"id": self.server.owner.served_model, "object": "model"}]})
        else:
            self._send_json(404, {"object": "error", "message": "not found", "code": 404})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        owner = self.server.owner
        if self.path == "/_control/push":
            owner.push(*body.get("behaviours", []))
            self._send_json(200, {"script": len(owner.script)})
            return
        behaviour = owner._next(self.path, body)
        owner._count_in_flight(+1)
        self._in_flight = True
        try:
            self._respond(behaviour, body, owner)
        except OSError:  # the client gave up (timeout) or the server is stopping
            self.close_connection = True
        finally:
            self._leave_flight()

    def _leave_flight(self) -> None:
        """Out of the in-flight count once, before the client can see the answer (then its
        next request can never be counted alongside this one)."""
        if getattr(self, "_in_flight", False):
            self._in_flight = False
            self.server.owner._count_in_flight(-1)

    def _respond(self, behaviour: str, body: dict[str, Any], owner: FakeOpenAIServer) -> None:
        kind, _, arg = behaviour.partition(":")
        if kind == "slow":
            kind = "drop" if owner._stopping.wait(float(arg)) else "ok"
        if kind == "together":
            with owner._in_flight_changed:
                # The peak, not the count now: the first released answer lowers the count.
                owner._in_flight_changed.wait_for(lambda: owner.max_in_flight >= int(arg), 10)
            kind = "ok"
        if kind == "nochoices":
            self._send_json(200, {**self._answer("ok", body), "choices": []})
            return
        if kind == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if kind == "truncated":  # promises a whole body, sends half, hangs up
            data = json.dumps(self._answer("ok", body)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if kind == "malformed":
            self._send(200, b'{"id": "cmpl-x", "choices": [{"text": "unterminated')
            return
        if kind == "context":
            self._send_json(400, {"object": "error", "message": CONTEXT_ERROR,
                                  "type": "BadRequestError", "param": None, "code": 400})
            return
        if kind == "429":
            self._send_json(429, {"object": "error", "message": "rate limited", "code": 429},
                            {"Retry-After": arg} if arg else {})
            return
        if kind.isdigit():
            self._send_json(int(kind), {"object": "error", "message": f"fake {kind}",
                                        "code": int(kind)})
            return
        self._send_json(200, self._answer(kind, body))

    def _answer(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        prompt = _last_prompt(body)
        text = {"empty": "", "hostile": HOSTILE}.get(kind, f"answer to: {prompt[-20:]}")
        if kind == "length":
            text = " ".join(text.split()[:2])
        chat = self.path.endswith("/chat/completions")
        choice: dict[str, Any] = {"index": 0, "logprobs": None,
                                  "finish_reason": "length" if kind == "length" else "stop"}
        if chat:
            choice["message"] = {"role": "assistant", "content": text}
        else:
            choice["text"] = text
        answer: dict[str, Any] = {
            "id": f"cmpl-{time.monotonic_ns()}", "created": int(time.time()),
            "object": "chat.completion" if chat else "text_completion",
            "model": body.get("model", "fake"), "choices": [choice],
        }
        if kind != "nousage":
            prompt_tokens, completion_tokens = len(prompt.split()), len(text.split())
            answer["usage"] = {"prompt_tokens": prompt_tokens,
                               "completion_tokens": completion_tokens,
                               "total_tokens": prompt_tokens + completion_tokens}
        return answer

    def _send_json(self, status: int, payload: dict[str, Any],
                   headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), headers)

    def _send(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        self._leave_flight()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128  # the default 5 drops SYNs under concurrent connects
    owner: FakeOpenAIServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up (or was SIGKILLed) mid-request is no server error.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class FakeOpenAIServer:
    """`with FakeOpenAIServer(["500"]) as server: ... server.url ... server.requests`."""

    def __init__(self, script: Iterable[str] = (), default: str = "ok",
                 log_path: str | None = None, served_model: str = "fake",
                 host: str = "127.0.0.1") -> None:
        self.host = host  # "0.0.0.0": reachable at the host's name too (a Slurm serve job)
        self.script: deque[str] = deque(script)
        self.served_model = served_model  # listed by GET /v1/models; any name is answered
        self.default = default  # the behaviour once the script is used up
        self._log = open(log_path, "a", encoding="utf-8") if log_path else None  # noqa: SIM115
        self.requests: list[dict[str, Any]] = []  # {"path", "body", "behaviour"} in order
        self.port = 0
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self.in_flight = 0  # requests being answered now, and the most there ever were
        self.max_in_flight = 0
        self._in_flight_changed = threading.Condition()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def push(self, *behaviours: str) -> None:
        """Append behaviours to the fault script."""
        with self._lock:
            self.script.extend(behaviours)

    def start(self) -> FakeOpenAIServer:
        """Listen (again) on the same port as before, or on a free one the first time."""
        self._stopping.clear()
        self._server = _Server((self.host, self.port), _Handler)
        self._server.owner = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Die like a crashed server: stop listening and reset every open connection."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            for connection in list(self._connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next(self, path: str, body: dict[str, Any]) -> str:
        with self._lock:
            behaviour = self.script.popleft() if self.script else self.default
            self.requests.append({"path": path, "body": body, "behaviour": behaviour})
            if self._log is not None:
                record = {"t": time.time(), "path": path, "behaviour": behaviour,
                          "prompt": _last_prompt(body)}
                self._log.write(json.dumps(record) + "\n")
                self._log.flush()
        return behaviour

    def _count_in_flight(self, change: int) -> None:
        with self._in_flight_changed:
            self.in_flight += change
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._in_flight_changed.notify_all()

    def _track(self, connection: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)


def main(argv: list[str] | None = None) -> None:
    """Serve until killed: `--port 0` picks a free port; the port is printed when ready."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    parser.add_argument("--script", default="", help="comma-separated behaviours, in order")
    parser.add_argument("--default", default="ok", help="the behaviour after the script")
    parser.add_argument("--log", help="append one JSON line per request to this file")
    args = parser.parse_args(argv)
    server = FakeOpenAIServer([b for b in args.script.split(",") if b], args.default, args.log,
                              host=args.host)
    server.port = args.port
    server.start()
    print(f"listening {server.port}", flush=True)
    threading.Event().wait()  # until SIGKILL or SIGTERM


if __name__ == "__main__":
    sys.exit(main())
