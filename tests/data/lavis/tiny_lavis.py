"""Tiny stand-ins for the files LAVIS's BLIP-2 (blip2_opt) would download, made with LAVIS's
own classes in .venv-lavis, with random weights and no download:
- bert-base-uncased: a 2-layer BERT (LAVIS's Q-Former class) with a 30-word vocab.txt;
- facebook/opt-2.7b: a 2-layer OPT with a byte-level BPE vocab of 270 tokens;
- eva_vit_g.pth: the weights of LAVIS's EVA VisionTransformer class at width 32, depth 1
  (the real one, 1B parameters, is built by create_eva_vit_g with fixed sizes, so the worker
  run by tests/data/lavis/standin_python.py swaps that one function for `tiny_eva_vit_g`);
- blip2_caption_opt2.7b.pth: {"model": state_dict} of the real Blip2OPT built from the above.

`python tests/data/lavis/tiny_lavis.py OUT` builds them and writes OUT/expected.json: the
captions the model gives two generated images, to check that the checkpoint was loaded."""

from __future__ import annotations

import json
import sys
from functools import partial
from pathlib import Path

EVA_URL = ("https://storage.googleapis.com/sfr-vision-language-research/LAVIS/models/BLIP2/"
           "eva_vit_g.pth")  # as in LAVIS's create_eva_vit_g: its file name is what counts
IMAGE_SIZE = 364  # caption_coco_opt2.7b's
PATCH = 28  # 13 x 13 patches at 364 pixels
WORDS = ["a", "photo", "of", "the", "man", "dog", "on", "with", "street", "in"]


def tiny_eva_vit_g(img_size: int = 224, drop_path_rate: float = 0.4, use_checkpoint: bool = False,
                   precision: str = "fp16"):
    """create_eva_vit_g at tiny size: same class, same file resolution, same loading."""
    import torch
    from lavis.common.dist_utils import download_cached_file
    from lavis.models.eva_vit import (
        VisionTransformer,
        convert_weights_to_fp16,
        interpolate_pos_embed,
    )

    model = VisionTransformer(img_size=img_size, patch_size=PATCH, use_mean_pooling=False,
                              embed_dim=32, depth=1, num_heads=2, mlp_ratio=2.0, qkv_bias=True,
                              drop_path_rate=drop_path_rate,
                              norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
                              use_checkpoint=use_checkpoint)
    cached = download_cached_file(EVA_URL, check_hash=False, progress=True)
    state_dict = torch.load(cached, map_location="cpu")
    interpolate_pos_embed(model, state_dict)
    model.load_state_dict(state_dict, strict=True)  # every tiny weight, or fail
    if precision == "fp16":
        convert_weights_to_fp16(model)
    return model


def use_tiny_vision_encoder() -> None:
    """Make Blip2Base.init_vision_encoder build `tiny_eva_vit_g` for eva_clip_g."""
    from lavis.models.blip2_models import blip2

    blip2.create_eva_vit_g = tiny_eva_vit_g


def _bert(folder: Path) -> None:
    from lavis.models.blip2_models.Qformer import BertConfig, BertLMHeadModel

    vocab = ["[PAD]", *(f"[unused{i}]" for i in range(3)), "[UNK]", "[CLS]", "[SEP]", "[MASK]",
             *WORDS, *"abcdefghijkl"]
    folder.mkdir(parents=True)
    (folder / "vocab.txt").write_text("".join(w + "\n" for w in vocab))
    (folder / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True}))
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=64,
                        initializer_range=0.5)  # large: the queries must see the image
    BertLMHeadModel(config).save_pretrained(folder)


def _opt(folder: Path) -> None:
    import torch
    from transformers import OPTConfig, OPTForCausalLM
    from transformers.models.gpt2.tokenization_gpt2 import bytes_to_unicode

    specials = ["<s>", "<pad>", "</s>", "<unk>"]  # OPT's ids 0-3
    chars = list(bytes_to_unicode().values())
    merges = [("Ġ", "a"), ("Ġ", "p"), ("h", "o"), ("Ġp", "ho"), ("t", "o"), ("Ġpho", "to"),
              ("Ġ", "o"), ("Ġo", "f")]
    vocab = {t: i for i, t in enumerate([*specials, *chars, *("".join(m) for m in merges)])}
    folder.mkdir(parents=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "GPT2Tokenizer", "add_bos_token": True, "bos_token": "</s>",
        "eos_token": "</s>", "unk_token": "</s>", "pad_token": "<pad>"}))
    config = OPTConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, ffn_dim=64,
                       num_attention_heads=2, word_embed_proj_dim=32, max_position_embeddings=128,
                       pad_token_id=1, bos_token_id=2, eos_token_id=2)
    torch.manual_seed(0)
    model = OPTForCausalLM(config)
    readable = set("abcdefghijklmnopqrstuvwxyzĠ") | {"".join(m) for m in merges}
    with torch.no_grad():  # random weights could end at once, or write bytes that decode to
        rows = model.get_input_embeddings().weight  # nothing: tied to the output layer,
        for token, index in vocab.items():  # a zero row is a logit of 0, while "a" or
            if token not in readable:  # "b" (= -"a") is >= 0: a letter always wins
                rows[index] = 0  # (this zeroes "Ċ", "\n": LAVIS's end of caption)
        rows[vocab["b"]] = -rows[vocab["a"]]
    model.save_pretrained(folder)


def build(out: Path) -> dict[str, str]:
    """The four stand-ins under `out`; returns the paths as caption.lavis keys."""
    import torch
    from cotpd.caption.config import LavisConfig
    from cotpd.caption.images import open_rgb
    from cotpd.caption.lavis_files import LavisFiles
    from cotpd.caption.lavis_local import local_lavis_model_type
    from lavis.models.blip2_models.blip2_opt import Blip2OPT
    from lavis.processors.blip_processors import BlipImageEvalProcessor
    from PIL import Image

    _bert(out / "bert-base-uncased")
    _opt(out / "opt")
    use_tiny_vision_encoder()
    torch.manual_seed(0)
    torch.save(tiny_vit_state(IMAGE_SIZE), out / "tiny_eva_vit_g.pth")
    files = LavisFiles(checkpoint=out / "blip2_tiny.pth", vit_weights=out / "tiny_eva_vit_g.pth",
                       llm=out / "opt", bert=out / "bert-base-uncased")
    with local_lavis_model_type(LavisConfig(), files):  # the same redirects as the captioner
        model = Blip2OPT(img_size=IMAGE_SIZE, vit_precision="fp32", freeze_vit=False,
                         num_query_token=32, opt_model=str(files.llm), prompt="a photo of")
    torch.save({"model": model.state_dict()}, files.checkpoint)

    model = model.float().eval()  # as load_model_and_preprocess does on CPU
    process = BlipImageEvalProcessor(image_size=IMAGE_SIZE)
    images = {}
    for name, color in (("red", (200, 30, 30)), ("noise", None)):
        image = (Image.effect_noise((80, 60), 90).convert("RGB") if color is None
                 else Image.new("RGB", (50, 70), color))
        image.save(out / f"{name}.png")
        images[name] = process(open_rgb(out / f"{name}.png", 10**8))
    with torch.inference_mode():
        captions = model.generate({"image": torch.stack(list(images.values()))}, num_beams=1,
                                  max_length=6, min_length=1)
    expected = dict(zip(images, captions, strict=True))
    (out / "expected.json").write_text(json.dumps(expected))
    return {"checkpoint": str(files.checkpoint), "vit_weights": str(files.vit_weights),
            "llm": str(files.llm), "bert": str(files.bert)}


def tiny_vit_state(img_size: int) -> dict:
    """Random weights for `tiny_eva_vit_g` (built without a file to load)."""
    import torch
    from lavis.models.eva_vit import VisionTransformer

    model = VisionTransformer(img_size=img_size, patch_size=PATCH, use_mean_pooling=False,
                              embed_dim=32, depth=1, num_heads=2, mlp_ratio=2.0, qkv_bias=True,
                              norm_layer=partial(torch.nn.LayerNorm, eps=1e-6))
    with torch.no_grad():  # zero-initialised tokens would make every image look alike
        model.pos_embed.normal_(std=0.5)
        model.cls_token.normal_(std=0.5)
    return model.state_dict()


if __name__ == "__main__":
    print(json.dumps(build(Path(sys.argv[1]))))
