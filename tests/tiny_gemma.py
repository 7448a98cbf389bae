"""The tiny random Gemma 3 the teacher tests build: 2 layers (one sliding-window, one full
attention, as the real model mixes them), hidden 32, over a given tokenizer."""

from typing import Any


def tiny_gemma3_config(tokenizer: Any, max_position_embeddings: int) -> Any:
    from transformers import Gemma3TextConfig

    return Gemma3TextConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, intermediate_size=64,
        num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, head_dim=16,
        sliding_window=4, layer_types=["sliding_attention", "full_attention"],
        max_position_embeddings=max_position_embeddings, pad_token_id=tokenizer.pad_token_id)
