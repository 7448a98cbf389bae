"""The MRE `pair` prompt: it names an instance's head and tail, is asked once per (tweet,
head, tail) while the sentence prompts are asked once per tweet, and the config check
refuses it for MNER datasets."""

from collections.abc import Sequence
from pathlib import Path

import pytest
from cotpd.corpus.records import Mention, MnerSample, MreSample
from cotpd.pipeline.config import ConfigError, load_run_config
from cotpd.teacher.backend import GenerationRequest, GenerationResult, ResultCallback
from cotpd.teacher.catalogue import load_catalogue
from cotpd.teacher.runner import Teacher, build_request, run_prompt, summarize_counts
from cotpd.teacher.store import KnowledgeStore

REPO = Path(__file__).resolve().parents[2]
TOKENS = ["Kawhi", "Leonard", "leaves", "Toronto", "for", "the", "Clippers"]
PAIRS = [(("Kawhi Leonard", 0, 2), ("Toronto", 3, 4), "/per/loc/place_of_residence"),
         (("Kawhi Leonard", 0, 2), ("Clippers", 6, 7), "/per/org/member_of"),
         (("Toronto", 3, 4), ("Clippers", 6, 7), "None")]


def instances() -> list[MreSample]:
    """Three instances of one tweet, one per entity pair."""
    return [MreSample(id=f"i{n}", tokens=TOKENS, head=Mention(*head), tail=Mention(*tail),
                      relation=relation, image_id="t1.jpg")
            for n, (head, tail, relation) in enumerate(PAIRS)]


class CountingBackend:
    name = "counting"

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def fingerprint_parts(self) -> dict:
        return {"backend": self.name}

    def generate(self, requests: Sequence[GenerationRequest], on_result: ResultCallback) -> None:
        for request in requests:
            self.prompts.append(request.prompt or "")
            on_result(request, GenerationResult(text=f"answer {len(self.prompts)}",
                                                finish_reason="stop"))


def test_the_pair_prompt_names_head_and_tail() -> None:
    prompt = load_catalogue()["pair"]
    teacher = Teacher(CountingBackend(), "fp", "completion")
    request = build_request(instances()[1], prompt, teacher)
    assert request.prompt.endswith("Tweet: Kawhi Leonard leaves Toronto for the Clippers\n"
                                   "How Kawhi Leonard and Clippers are related:")
    assert request.stop == ("\nTweet:", "\n")
    chat = build_request(instances()[1], prompt, Teacher(CountingBackend(), "fp", "chat"))
    assert chat.messages[0]["content"] == (
        "Explain how Kawhi Leonard and Clippers are related in this sentence, with necessary "
        "background.\nKawhi Leonard leaves Toronto for the Clippers")


def test_one_tweet_is_asked_once_by_the_sentence_prompt_and_per_pair_by_pair(
        tmp_path: Path) -> None:
    catalogue = load_catalogue()
    backend = CountingBackend()
    teacher = Teacher(backend, "fp", "completion")
    samples = instances()
    with KnowledgeStore(tmp_path / "store.sqlite") as store:
        counts = {p: run_prompt(samples, catalogue[p], teacher, store, by_content=True)
                  for p in ("sentence", "pair")}
    summary = summarize_counts(counts, 1.0)
    assert summary["prompts"]["sentence"]["asked"] == 1
    assert summary["prompts"]["sentence"]["shared"] == 2
    assert summary["prompts"]["pair"]["asked"] == 3
    assert summary["prompts"]["pair"]["shared"] == 0
    assert (summary["asked"], summary["answered"], summary["shared"]) == (4, 4, 2)
    assert len(backend.prompts) == 4


def test_an_mner_sample_cannot_render_the_pair_prompt() -> None:
    from cotpd.corpus.errors import CotpdError

    sample = MnerSample(id="s", tokens=TOKENS, labels=["O"] * len(TOKENS), image_id=None)
    teacher = Teacher(CountingBackend(), "fp", "completion")
    with pytest.raises(CotpdError, match="needs head, tail"):
        build_request(sample, load_catalogue()["pair"], teacher)


def test_the_config_check_refuses_pair_for_an_mner_dataset() -> None:
    with pytest.raises(ConfigError, match=r"prompt 'pair' needs \{head\}, \{tail\}.*demo_mner "
                                          r"\(mner\).*remove 'pair' from "
                                          r"teacher.knowledge.prompts"):
        load_run_config(REPO / "configs" / "demo_mner.yaml",
                        ["teacher.knowledge.prompts=[noun,pair]"])
    with pytest.raises(ConfigError, match="unknown prompt 'pairs'"):
        load_run_config(REPO / "configs" / "demo_mnre.yaml",
                        ["teacher.knowledge.prompts=[noun,pairs]"])
    config = load_run_config(REPO / "configs" / "demo_mnre.yaml",
                             ["teacher.knowledge.prompts=[noun,sentence,pair]"])
    assert config.teacher.knowledge.prompts == ["noun", "sentence", "pair"]
