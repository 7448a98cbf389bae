"""The config reference: every field of every config model has a description, `cotpd config
explain` prints keys from the models, and docs/configs.md is what the models generate."""

import ast
from pathlib import Path

from cotpd.corpus.schema import StrictModel
from cotpd.pipeline import config_reference as reference
from pydantic import Field

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("pipeline", "corpus", "caption", "teacher", "augment", "student", "eval")


def test_every_config_field_has_a_description() -> None:
    assert reference.undocumented() == []


def test_a_field_without_a_description_is_reported() -> None:
    class Inner(StrictModel):
        size: int = Field(3, description="How many.")
        colour: str = "red"

    class Outer(StrictModel):
        inner: Inner = Field(Inner(), description="A section.")

    assert reference.undocumented((("outer", Outer, ""),)) == ["outer: inner.colour"]


def test_every_config_model_in_the_source_is_in_the_reference() -> None:
    """A pydantic model declared anywhere in the stages is reachable from a root, so the
    description test sees its fields."""
    declared = set()
    for package in PACKAGES:
        for path in (REPO / package).glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ClassDef) and any(
                        getattr(base, "id", None) in ("StrictModel", "BaseModel")
                        for base in node.bases):
                    declared.add(f"{package}.{path.stem}.{node.name}")
    declared.discard("corpus.schema.StrictModel")  # the base class, no fields
    covered = {f"{m.__module__.removeprefix('cotpd.')}.{m.__name__}"
               for m in reference.documented_models()}
    assert declared and declared <= covered, sorted(declared - covered)


def test_the_committed_page_is_the_generated_one() -> None:
    page = REPO / "docs" / "configs.md"
    assert page.read_text(encoding="utf-8") == reference.format_markdown(), (
        "docs/configs.md is stale: run `cotpd config explain --markdown > docs/configs.md`")


def test_explain_prints_one_key_with_type_default_and_meaning(cotpd) -> None:
    result = cotpd("config", "explain", "student.distill.temperature")
    assert result.exit_code == 0, result.err
    assert result.out.splitlines()[:4] == [
        "student.distill.temperature  (run config)", "  type: float", "  default: 1.0",
        "  constraints: > 0.0"]
    assert "every CRF score is divided by it" in result.out


def test_explain_of_a_section_lists_its_keys(cotpd) -> None:
    result = cotpd("config", "explain", "teacher.openai")
    assert result.exit_code == 0
    assert "type: section" in result.out
    assert "keys: base_urls, model, api_key, concurrency, timeout_s, max_retries" in result.out


def test_explain_without_a_key_prints_every_key(cotpd) -> None:
    result = cotpd("config", "explain")
    assert result.exit_code == 0
    lines = result.out.splitlines()
    for entry in reference.all_entries():
        name = entry.key.rsplit(".", 1)[-1]
        indent = "  " * (entry.key.count(".") + 1)
        assert any(line.startswith(f"{indent}{name}") and entry.description in line
                   for line in lines), entry.key
    assert '    subword_labels = "auto"  # Which sub-words' in result.out


def test_an_unknown_key_names_the_closest(cotpd) -> None:
    result = cotpd("config", "explain", "student.distil.alpha")
    assert result.exit_code == 2
    assert "unknown config key 'student.distil.alpha'; did you mean student.distill.alpha" \
        in result.err


def test_study_and_registry_keys_are_explained(cotpd) -> None:
    assert "(study file)" in cotpd("config", "explain", "compare_to").out
    assert "(dataset registry entry)" in cotpd("config", "explain", "splits").out
