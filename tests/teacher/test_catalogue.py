from pathlib import Path

import pytest
import yaml
from cotpd.corpus.errors import CotpdError
from cotpd.teacher.catalogue import load_catalogue

PAPER_PROMPTS = ["noun", "sentence", "multimodal", "style", "entity_check", "image",
                 "summarize", "entity_list"]
VALUES = {"text": "RT @nba : Kawhi Leonard wins MVP", "caption": "a man holding a trophy",
          "knowledge": "Kawhi Leonard is a basketball player.", "entity_type": "person",
          "head": "Kawhi Leonard", "tail": "MVP"}


def test_every_prompt_renders_in_both_styles() -> None:
    catalogue = load_catalogue()
    assert set(PAPER_PROMPTS) <= set(catalogue)
    for prompt in catalogue.values():
        for style in ("chat", "completion"):
            text = prompt.render(style, **VALUES)
            assert "{" not in text.replace("{'", "")  # every placeholder was filled
    noun = catalogue["noun"]
    assert noun.render("chat", **VALUES).startswith(
        "Help me explain the meaning of special words for understanding.")
    completion = noun.render("completion", **VALUES)
    assert completion.count("Tweet:") == 3 and completion.endswith(
        "Tweet: RT @nba : Kawhi Leonard wins MVP\nSpecial words explained:\n")
    assert noun.stop("completion") and noun.stop("chat") == ()


def test_hash_follows_the_text_that_shapes_the_prompt(tmp_path: Path) -> None:
    base = load_catalogue()["noun"]
    assert base.version_hash("chat") != base.version_hash("completion")
    assert base.version_hash("chat") == load_catalogue()["noun"].version_hash("chat")
    override = tmp_path / "teacher.yaml"
    override.write_text(yaml.safe_dump({"noun": {"chat": "Explain the names.\n{text}"}}))
    changed = load_catalogue([override])["noun"]
    assert changed.render("chat", **VALUES).startswith("Explain the names.")
    assert changed.version_hash("chat") != base.version_hash("chat")
    # the completion template was not overridden, so its hash (and stored rows) stay valid
    assert changed.version_hash("completion") == base.version_hash("completion")


def test_a_missing_value_and_a_bad_file_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(CotpdError, match="needs"):
        load_catalogue()["multimodal"].render("chat", text="only text")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just a list\n")
    with pytest.raises(CotpdError, match="mapping"):
        load_catalogue([bad])
    partial = tmp_path / "new.yaml"
    partial.write_text(yaml.safe_dump({"mine": {"version": 1}}))
    with pytest.raises(CotpdError, match="missing chat, completion"):
        load_catalogue([partial])
