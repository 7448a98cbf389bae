"""benchmarks/timing.py: the plain classifier's pass visits every sentence once, in the
order given, a batch at a time, and `timed` returns the call's result."""

from types import SimpleNamespace

import torch

from benchmarks.timing import plain_pass, timed


class _Tokenizer:
    def __init__(self) -> None:
        self.batches: list[list[list[str]]] = []

    def __call__(self, words, **options):
        assert options["is_split_into_words"] and options["max_length"] == 16
        self.batches.append(words)
        return {"input_ids": torch.zeros(len(words), 3, dtype=torch.long)}


def _model(input_ids):
    return SimpleNamespace(logits=torch.zeros(*input_ids.shape, 5))


def test_plain_pass_batches_in_the_given_order() -> None:
    sentences = [["a"], ["b", "b"], ["c"], ["d"], ["e"]]
    tokenizer = _Tokenizer()
    plain_pass(_model, tokenizer, sentences, 2, 16)()
    assert tokenizer.batches == [[["a"], ["b", "b"]], [["c"], ["d"]], [["e"]]]
    tokenizer.batches.clear()
    plain_pass(_model, tokenizer, sentences, 2, 16, order=[4, 3, 2, 1, 0])()
    assert tokenizer.batches == [[["e"], ["d"]], [["c"], ["b", "b"]], [["a"]]]


def test_timed_returns_the_result_and_times() -> None:
    result, wall, cpu = timed(lambda: sum(range(1000)))
    assert result == 499500 and wall >= 0 and cpu >= 0
