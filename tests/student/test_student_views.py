from pathlib import Path

import pytest
from cotpd.corpus.records import Mention, MnerSample, MreSample, SampleContext
from cotpd.student.config import ViewConfig
from cotpd.student.views import MARKERS, ViewBuilder
from transformers import AutoTokenizer


@pytest.fixture(scope="module")
def tokenizer(tiny_encoder: Path):
    tok = AutoTokenizer.from_pretrained(tiny_encoder)
    tok.add_special_tokens({"additional_special_tokens": list(MARKERS)})
    return tok


def sample(caption: str | None = "a man on a stage",
           knowledge: str | None = "taylor swift is a singer") -> MnerSample:
    return MnerSample(id="1", tokens=["Taylor", "Swift", "sings", "tonight"],
                      labels=["B-PER", "I-PER", "O", "O"], image_id="1",
                      context=SampleContext(caption=caption, knowledge=knowledge))


def test_text_view_marks_the_first_subword_of_each_word(tokenizer) -> None:
    builder = ViewBuilder(tokenizer, ViewConfig())
    view = builder.encode(sample(), "text")
    assert view.input_ids[0] == tokenizer.cls_token_id
    assert view.input_ids[-1] == tokenizer.sep_token_id
    assert len(view.word_starts) == 4
    words = [tokenizer.decode([view.input_ids[i]]) for i in view.word_starts]
    assert words[0] == "taylor" and words[2].startswith("sing")


def test_knowledge_view_order_and_separator(tokenizer) -> None:
    text = ViewBuilder(tokenizer, ViewConfig()).encode(sample(), "text")
    view = ViewBuilder(tokenizer, ViewConfig()).encode(sample(), "knowledge")
    assert view.input_ids[: len(text.input_ids)] == text.input_ids
    decoded = tokenizer.decode(view.input_ids[len(text.input_ids):])
    assert decoded.index("stage") < decoded.index("singer")
    swapped = ViewBuilder(tokenizer, ViewConfig(context_order=["knowledge", "caption"]))
    decoded = tokenizer.decode(swapped.encode(sample(), "knowledge").input_ids)
    assert decoded.index("singer") < decoded.index("stage")
    custom = ViewBuilder(tokenizer, ViewConfig(separator="|"))
    assert "|" in tokenizer.decode(custom.encode(sample(), "caption").input_ids)


def test_truncation_drops_knowledge_first_then_caption_never_text(tokenizer) -> None:
    long_knowledge = " ".join(["explanation"] * 100)
    builder = ViewBuilder(tokenizer, ViewConfig(max_length=20))
    view = builder.encode(sample(knowledge=long_knowledge), "knowledge")
    assert len(view.input_ids) <= 20 and len(view.word_starts) == 4
    assert "stage" in tokenizer.decode(view.input_ids)
    assert builder.counts["knowledge_truncated"] == 1 and builder.counts["caption_truncated"] == 0
    tight = ViewBuilder(tokenizer, ViewConfig(max_length=16))
    view = tight.encode(sample(caption=" ".join(["crowd"] * 50), knowledge=long_knowledge),
                        "knowledge")
    assert len(view.input_ids) <= 16 and len(view.word_starts) == 4
    assert tight.counts["knowledge_truncated"] == 1 and tight.counts["caption_truncated"] == 1
    assert tight.counts["text_truncated"] == 0


def test_text_longer_than_the_budget_is_cut_and_counted(tokenizer) -> None:
    long = MnerSample(id="2", tokens=["word"] * 40, labels=["O"] * 40, image_id=None)
    builder = ViewBuilder(tokenizer, ViewConfig(max_length=16))
    view = builder.encode(long, "text")
    assert len(view.word_starts) == 14 and builder.counts["text_truncated"] == 1


def test_missing_context_is_counted(tokenizer) -> None:
    builder = ViewBuilder(tokenizer, ViewConfig())
    builder.encode_all([sample(caption=None, knowledge=None), sample()], "knowledge")
    assert builder.counts["missing_caption"] == 1 and builder.counts["missing_knowledge"] == 1


def test_mre_markers_wrap_head_and_tail(tokenizer) -> None:
    instance = MreSample(id="r", tokens=["Messi", "joins", "Inter", "Miami"],
                         head=Mention("Messi", 0, 1), tail=Mention("Inter Miami", 2, 4),
                         relation="/per/org/member_of", image_id="x.jpg")
    view = ViewBuilder(tokenizer, ViewConfig()).encode(instance, "text")
    ids = view.input_ids
    h, t = view.markers
    assert tokenizer.convert_ids_to_tokens(ids[h]) == "<h>"
    assert tokenizer.convert_ids_to_tokens(ids[t]) == "<t>"
    assert len(view.word_starts) == 4
    tokens = tokenizer.convert_ids_to_tokens(ids)
    assert tokens.index("</t>") > tokens.index("miami")
