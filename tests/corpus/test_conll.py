from pathlib import Path

import pytest
from cotpd.corpus.conll import format_conll, read_conll
from cotpd.corpus.errors import DataFormatError

TEXT = (
    "IMGID:17_06_1\nRT\tO\n@fan\tO\n:\tO\nKawhi\tB-PER\nLeonard\tI-PER\nin\tO\nToronto\tB-LOC\n\n"
    "IMGID:17_06_2\n#\tO\nNBA\tB-ORG\nFinals\tB-MISC\n\n"
)


def write(tmp_path: Path, text: str | bytes, name: str = "split.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def test_reads_tokens_labels_and_image_ids(tmp_path: Path) -> None:
    result = read_conll(write(tmp_path, TEXT))
    first, second = result.samples
    assert first.id == first.image_id == "17_06_1"
    assert first.tokens[3:5] == ["Kawhi", "Leonard"]
    assert first.labels[3:7] == ["B-PER", "I-PER", "O", "B-LOC"]
    assert second.tokens == ["#", "NBA", "Finals"]
    assert first.context.caption is None and first.context.knowledge is None
    assert result.problems == []
    assert len(result.sha256) == 64


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_round_trip_gives_the_same_bytes(tmp_path: Path, newline: str) -> None:
    raw = TEXT.replace("\n", newline).encode("utf-8")
    result = read_conll(write(tmp_path, raw))
    assert result.newline == newline
    assert format_conll(result.samples, result.newline).encode("utf-8") == raw


def test_keeps_the_files_own_type_names(tmp_path: Path) -> None:
    text = "IMGID:1\nthe\tO\nOscars\tB-OTHER\n\n"
    result = read_conll(write(tmp_path, text), entity_types={"PER", "LOC", "ORG", "OTHER"})
    assert result.samples[0].labels == ["O", "B-OTHER"]


def test_type_of_another_dataset_is_an_error(tmp_path: Path) -> None:
    text = "IMGID:1\nthe\tO\nOscars\tB-OTHER\n\n"
    with pytest.raises(DataFormatError) as caught:
        read_conll(write(tmp_path, text), entity_types={"PER", "LOC", "ORG", "MISC"})
    assert caught.value.line == 3
    assert "'OTHER'" in str(caught.value) and "MISC" in str(caught.value)


def test_inside_without_entity_is_counted_not_fixed(tmp_path: Path) -> None:
    text = "IMGID:1\nvisit\tO\nNew\tI-LOC\nYork\tI-LOC\nand\tO\nBob\tI-PER\n\n"
    result = read_conll(write(tmp_path, text))
    assert result.samples[0].labels == ["O", "I-LOC", "I-LOC", "O", "I-PER"]
    assert [(p.line, p.kind) for p in result.problems] == [
        (3, "I- with no entity before it"), (6, "I- with no entity before it")]


def test_extra_blank_lines_are_reported(tmp_path: Path) -> None:
    text = "IMGID:1\na\tO\n\n\nIMGID:2\nb\tO\n\n"
    result = read_conll(write(tmp_path, text))
    assert len(result.samples) == 2
    assert [p.kind for p in result.problems] == ["extra blank line"]


def test_mixed_line_endings_are_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match=":2: found a line ending in LF"):
        read_conll(write(tmp_path, b"IMGID:1\r\na\tO\n\r\n"))


def test_a_later_line_without_a_tab_names_its_line(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError) as caught:
        read_conll(write(tmp_path, TEXT + "IMGID:3\nfoo bar\n\n"))
    assert caught.value.line == 16
    assert str(tmp_path / "split.txt") in str(caught.value)
