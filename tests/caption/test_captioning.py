"""The caption stage: a tiny random BLIP-2 built from configs over good and bad images,
resuming (skip, partial last line, retry), the file backend, and the command end to end."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from cotpd.caption import captioners, images, stage
from cotpd.caption.captioners import FileCaptioner
from cotpd.caption.config import CaptionConfig
from cotpd.caption.stage import run as run_caption
from cotpd.corpus.context_files import load_captions
from cotpd.corpus.errors import DataFormatError
from cotpd.corpus.registry import get_dataset, read_split
from cotpd.corpus.run_files import RunFiles, ok_captions
from cotpd.pipeline.cli_caption import caption, load_caption_configs
from cotpd.pipeline.config import ConfigError, RunConfig
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
DEMO_IMAGES = 150
# image id -> (status, reason) the stage must record; max_image_pixels is 1_000_000 here
EXPECTED = {
    "rgb_jpg": ("ok", None), "rgb_png": ("ok", None), "cmyk_jpg": ("ok", None),
    "palette_png": ("ok", None), "rgba_png": ("ok", None), "gray_jpg": ("ok", None),
    "random_bytes": ("failed", "not an image"), "truncated_jpg": ("failed", "truncated or corrupt"),
    "huge_png": ("failed", "too large"), "zero_bytes": ("failed", "empty file"),
    "not_there": ("failed", "missing"),
}


def build_tiny_blip2(folder: Path, legacy: bool = False) -> Path:
    """A random BLIP-2 (OPT text side) with a word-level tokenizer: no download anywhere.
    `legacy`: saved as before transformers put `<image>` tokens in the prompt."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        Blip2Config,
        Blip2ForConditionalGeneration,
        Blip2Processor,
        Blip2QFormerConfig,
        Blip2VisionConfig,
        BlipImageProcessor,
        OPTConfig,
        PreTrainedTokenizerFast,
    )

    words = ["<pad>", "<unk>", "</s>", "a", "photo", "of", "the", "man", "dog", "on", "with"]
    word_level = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, "<unk>"))
    word_level.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=word_level, bos_token="</s>",
                                        eos_token="</s>", pad_token="<pad>", unk_token="<unk>")
    processor = Blip2Processor(BlipImageProcessor(size={"height": 32, "width": 32}), tokenizer,
                               num_query_tokens=None if legacy else 4)
    vocab = len(tokenizer) - 1 if legacy else len(tokenizer)  # legacy: no row for <image>
    config = Blip2Config(
        vision_config=Blip2VisionConfig(hidden_size=32, intermediate_size=64, image_size=32,
                                        num_hidden_layers=1, num_attention_heads=2,
                                        patch_size=8).to_dict(),
        qformer_config=Blip2QFormerConfig(hidden_size=32, num_hidden_layers=1,
                                          num_attention_heads=2, intermediate_size=64).to_dict(),
        text_config=OPTConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=2,
                              ffn_dim=64, num_attention_heads=2, word_embed_proj_dim=32,
                              max_position_embeddings=64, bos_token_id=2, eos_token_id=2,
                              pad_token_id=0).to_dict(),
        num_query_tokens=4,
        image_token_index=None if legacy else tokenizer.convert_tokens_to_ids("<image>"))
    torch.manual_seed(0)
    model = Blip2ForConditionalGeneration(config)
    with torch.no_grad():  # random weights could end at once: make a word always win
        rows = model.get_input_embeddings().weight  # tied to the output layer
        rows[:3] = 0  # <pad> <unk> </s>: logit 0, while "a" or "photo" (= -"a") is >= 0
        rows[4] = -rows[3]
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_blip2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_blip2(tmp_path_factory.mktemp("tiny_blip2"))


def write_images(folder: Path) -> None:
    """One image of each kind in EXPECTED (`not_there` stays missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    noise = Image.effect_noise((64, 64), 80).convert("RGB")
    noise.save(folder / "rgb_jpg.jpg")
    noise.save(folder / "rgb_png.png")
    Image.new("CMYK", (40, 30), (0, 80, 160, 20)).save(folder / "cmyk_jpg.jpg")
    noise.convert("P", palette=Image.Palette.ADAPTIVE).save(folder / "palette_png.png",
                                                            transparency=0)
    Image.new("RGBA", (20, 50), (255, 0, 0, 90)).save(folder / "rgba_png.png")
    noise.convert("L").save(folder / "gray_jpg.jpeg")
    (folder / "random_bytes.jpg").write_bytes(os.urandom(2000))
    jpeg = io.BytesIO()
    noise.save(jpeg, "JPEG")
    (folder / "truncated_jpg.jpg").write_bytes(jpeg.getvalue()[: len(jpeg.getvalue()) // 2])
    Image.new("RGB", (1200, 1000), (9, 9, 9)).save(folder / "huge_png.png")
    (folder / "zero_bytes.jpg").write_bytes(b"")


def write_dataset(root: Path, ids: list[str]) -> None:
    """A tiny Twitter-2017-layout dataset under `root` whose samples point at `ids`."""
    spec = get_dataset("twitter2017")
    folder = root / spec.directory
    write_images(folder / str(spec.images))
    chunks = {"train": ids[:6], "dev": ids[6:9], "test": ids[9:]}
    for split, name in spec.splits.items():
        text = "".join(f"IMGID:{i}\nPaul\tB-PER\nin\tO\nRome\tB-LOC\n\n" for i in chunks[split])
        again = "IMGID:rgb_jpg\nagain\tO\n\n" if split != "train" else ""  # in three splits
        (folder / name).write_text(text + again)


def lines_by_id(path: Path) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        found.setdefault(record["img_id"], []).append(record)
    return found


def test_transformers_backend_bad_images_and_resume(tiny_blip2: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    write_dataset(tmp_path / "data", list(EXPECTED))
    run_config = RunConfig.model_validate({"data": {"dataset": "twitter2017",
                                                    "data_root": str(tmp_path / "data")}})
    run_dir = tmp_path / "run"
    config = CaptionConfig(backend="transformers", model=str(tiny_blip2), batch_size=4,
                           max_new_tokens=4, max_image_pixels=1_000_000)
    summary = run_caption(config, run_config.data, run_dir).summary
    output = RunFiles(run_dir).captions
    assert output.is_file() and summary["output"] == str(output)
    records = lines_by_id(output)
    assert sorted(records) == sorted(EXPECTED)
    for image_id, (status, reason) in EXPECTED.items():
        [record] = records[image_id]
        assert (record["status"], record["reason"]) == (status, reason), record
        assert record["backend"] == "transformers" and record["model"] == str(tiny_blip2)
        assert record["params"]["max_new_tokens"] == 4 and record["params"]["weights"]
        assert isinstance(record["caption"], str) and (status == "ok") == bool(record["caption"])
    assert summary["ok"] == 6 and summary["failed"] == 5 and summary["skipped_done"] == 0
    assert summary["failed_reasons"] == {"empty file": 1, "missing": 1, "not an image": 1,
                                         "too large": 1, "truncated or corrupt": 1}
    assert set(ok_captions(output)) == {i for i, (s, _) in EXPECTED.items() if s == "ok"}
    assert set(load_captions(output)) == set(EXPECTED)  # the teacher's reader takes it as is

    def no_model(*args, **kwargs):
        raise AssertionError("a finished run must not load the model")

    monkeypatch.setattr(stage, "build_captioner", no_model)
    again = run_caption(config, run_config.data, run_dir).summary
    assert (again["skipped_done"], again["ok"], again["failed"]) == (11, 0, 0)
    assert output.read_text().count("\n") == 11

    monkeypatch.undo()
    *kept, last = output.read_bytes().splitlines(keepends=True)
    output.write_bytes(b"".join(kept) + last[: len(last) // 2])  # a run killed mid-write
    resumed = run_caption(config, run_config.data, run_dir).summary
    assert resumed["recovered_partial_line"] is True
    assert resumed["skipped_done"] == 10 and resumed["ok"] + resumed["failed"] == 1
    assert all(len(v) == 1 for v in lines_by_id(output).values()) and len(lines_by_id(output)) == 11

    retried = run_caption(config, run_config.data, run_dir, retry_failed=True).summary
    assert (retried["retried_failed"], retried["failed"], retried["skipped_done"]) == (5, 5, 6)
    assert all(len(v) == 1 for v in lines_by_id(output).values())


def test_legacy_folder_without_image_tokens(tmp_path: Path) -> None:
    folder = build_tiny_blip2(tmp_path / "legacy", legacy=True)
    write_images(tmp_path / "images")
    captioner = captioners.Blip2Captioner(folder, CaptionConfig(backend="transformers",
                                          model=str(folder), prompt="a photo of"),
                                          tmp_path / "images")
    outcomes = captioner.run(captioner.prepare(["rgb_jpg", "rgba_png", "zero_bytes"]))
    assert [o.reason for o in outcomes] == [None, None, "empty file"]
    assert captioner.model.config.image_token_index is not None


def test_pillow_decompression_bomb_is_refused(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    Image.new("RGB", (40, 40)).save(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # Pillow's own limit, below ours
    outcome = images.open_rgb(tmp_path / "bomb.png", max_pixels=10**9)
    assert isinstance(outcome, images.Outcome) and outcome.reason == "too large"


def test_file_backend_on_demo(tmp_path: Path) -> None:
    spec = get_dataset("demo_mner")
    ids = [s.image_id for split in ("train", "dev", "test")
           for s in read_split(spec, split).samples]
    source = tmp_path / "blip2.txt"
    source.write_text("".join(f"{i}.jpg :a photo of {i}\n" for i in ids[2:]))
    run_config = RunConfig.model_validate({"data": {"dataset": "demo_mner"}})
    config = CaptionConfig(backend="file", file=source, output=tmp_path / "out.jsonl")
    summary = run_caption(config, run_config.data, tmp_path / "run").summary
    assert (summary["ok"], summary["failed"]) == (DEMO_IMAGES - 2, 2)
    assert summary["failed_reasons"] == {"not in captions file": 2}
    records = lines_by_id(tmp_path / "out.jsonl")
    assert records[ids[5]][0]["caption"] == f"a photo of {ids[5]}"
    assert records[ids[0]][0]["status"] == "failed"
    assert records[ids[5]][0]["params"]["sha256"] and records[ids[5]][0]["backend"] == "file"
    assert not RunFiles(tmp_path / "run").captions.exists()  # not at the default place
    lines = (tmp_path / "out.jsonl").read_text().splitlines(keepends=True)
    (tmp_path / "out.jsonl").write_text("".join([lines[0], "{not json\n", *lines[1:]]))
    with pytest.raises(DataFormatError, match="out.jsonl:2"):  # edited by hand: say where
        run_caption(config, run_config.data, tmp_path / "run")


@pytest.mark.shared_data
def test_file_backend_reads_the_papers_blip2_captions(shared_data: Path) -> None:
    samples = read_split(get_dataset("twitter2017"), "test", shared_data).samples[:5]
    captioner = FileCaptioner(shared_data / "captions" / "BLIP2_17.txt")
    outcomes = captioner.run(captioner.prepare([s.image_id for s in samples]))
    assert all(o.reason is None and o.caption for o in outcomes), outcomes


def test_command_end_to_end(tiny_blip2: Path, tmp_path: Path) -> None:
    config = tmp_path / "caption.yaml"
    config.write_text(f"base: {REPO / 'configs' / 'demo_mner.yaml'}\nrun:\n  output_dir: "
                      f"{tmp_path}\ncaption:\n  backend: transformers\n  model: {tiny_blip2}\n"
                      "  max_new_tokens: 3\n")
    result = CliRunner().invoke(caption, [str(config), "--set", "caption.batch_size=16"])
    assert result.exit_code == 0, result.output
    assert f"{DEMO_IMAGES} ok, 0 failed, 0 already done of {DEMO_IMAGES} images" in result.output
    run_dir = tmp_path / "demo_mner"
    assert (run_dir / "manifests" / "caption.json").is_file()
    assert json.loads((run_dir / "captions" / "summary.json").read_text())["ok"] == DEMO_IMAGES
    again = CliRunner().invoke(caption, [str(config)])
    assert f"0 ok, 0 failed, {DEMO_IMAGES} already done" in again.output
    none = CliRunner().invoke(caption, [str(config), "--set", "caption.backend=none"])
    assert none.exit_code == 0 and "no captions written" in none.output
    typo = CliRunner().invoke(caption, [str(config), "--set", "caption.bakend=file"])
    assert isinstance(typo.exception, ConfigError) and "caption.bakend" in str(typo.exception)


def test_caption_section_is_checked(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("data: {dataset: demo_mner}\ncaption: {backend: transformers}\n")
    with pytest.raises(ConfigError, match="needs caption.model"):
        load_caption_configs(config, [])
    _, plain = load_caption_configs(config, ["caption.backend=none"])
    assert plain.backend == "none" and plain.batch_size == 8
