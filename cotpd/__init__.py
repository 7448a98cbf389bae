"""cotpd: Chain-of-Thought Prompt Distillation for multimodal NER and relation extraction.

Every stage package is a subpackage: `cotpd.corpus`, `cotpd.caption`, `cotpd.teacher`,
`cotpd.augment`, `cotpd.student`, `cotpd.eval`, `cotpd.pipeline`. In the source tree they sit
beside this folder (an install maps them under it), so a checkout on `PYTHONPATH` runs its
own code, whatever else is installed; one name in site-packages shadows no other
distribution.
"""

from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent
if (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "corpus" / "__init__.py").is_file():
    __path__.append(str(_CHECKOUT))  # noqa: F821  (a package's own __path__)
