"""Before the openai backend sends its first request, check that a server answers and
serves the configured model: otherwise every row would be stored as a failure (connection
refused, or vLLM's 404 for an unknown model) and the user would learn it from the summary.
A run whose answers are all in the store sends nothing and needs no server."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
from cotpd.corpus.errors import CotpdError

START_HINT = ("start one with `bash scripts/serve_teacher.sh` "
              "(or scripts/slurm/serve_teacher.sbatch)")


def served_models(base_url: str, api_key: str, timeout_s: float = 10.0) -> list[str] | None:
    """The model names `<base_url>/models` lists; None when nothing answers there."""
    try:
        response = httpx.get(f"{base_url.rstrip('/')}/models", timeout=timeout_s,
                             headers={"Authorization": f"Bearer {api_key}"})
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        return [str(entry["id"]) for entry in response.json().get("data", [])]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # an answer not shaped like an OpenAI model list


def require_server(base_urls: Sequence[str], model: str, api_key: str = "EMPTY",
                   timeout_s: float = 10.0) -> dict[str, list[str]]:
    """The replicas that answer, with the names they serve. Fails when none answers, or
    when none of those that answer serves `model`. A replica that is down while others
    answer is left to the backend's retries (it may be restarting)."""
    found = {url: served_models(url, api_key, timeout_s) for url in base_urls}
    up = {url: names for url, names in found.items() if names is not None}
    if not up:
        raise CotpdError(f"no teacher server answers at {', '.join(base_urls)} "
                         f"(teacher.openai.base_urls); {START_HINT}")
    if not any(model in names for names in up.values()):
        served = sorted({name for names in up.values() for name in names})
        raise CotpdError(f"the teacher server at {', '.join(up)} serves "
                         f"{', '.join(served) or 'no model'}, not {model!r} "
                         f"(teacher.openai.model, or teacher.name when that is unset)")
    return up
