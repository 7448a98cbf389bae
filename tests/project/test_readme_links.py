"""The Markdown outside docs/ links only to files that exist (mkdocs build --strict checks the
links inside docs/)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = ["README.md", "benchmarks/README.md", "data/README.md"]
LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", PAGES)
def test_relative_links_point_at_files(page: str) -> None:
    path = REPO / page
    targets = [t for t in LINK.findall(path.read_text(encoding="utf-8"))
               if not re.match(r"[a-z]+:", t) and not t.startswith("#")]
    missing = [t for t in targets if not (path.parent / t.split("#")[0]).exists()]
    assert not missing, f"{page} links to missing files: {missing}"
