"""The bundled demo sets meet what the embedded default needs."""

from cotpd.corpus.bio import bio_spans
from cotpd.corpus.registry import SPLITS, get_dataset, read_split
from PIL import Image


def test_demo_mner_sizes_types_and_images() -> None:
    spec = get_dataset("demo_mner")
    images = spec.directory_under(None) / "images"
    minimum = {"train": 60, "dev": 20, "test": 20}
    for split in SPLITS:
        result = read_split(spec, split)
        assert len(result.samples) >= minimum[split] and result.problems == []
        types = {span.type for s in result.samples for span in bio_spans(s.labels)}
        assert types == {"PER", "LOC", "ORG", "MISC"}
        for sample in result.samples:
            with Image.open(images / f"{sample.image_id}.jpg") as image:
                assert image.mode == "RGB" and image.size == (96, 96)


def test_demo_mnre_sizes_relations_and_images() -> None:
    spec = get_dataset("demo_mnre")
    images = spec.directory_under(None) / "images"
    train_relations = {s.relation for s in read_split(spec, "train").samples}
    assert len(train_relations) >= 12 and "None" in train_relations
    for split in SPLITS:
        samples = read_split(spec, split).samples
        assert len(samples) >= (60 if split == "train" else 20)
        assert {s.relation for s in samples} <= train_relations
        assert all((images / s.image_id).is_file() for s in samples)
