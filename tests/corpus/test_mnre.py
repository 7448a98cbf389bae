from pathlib import Path

import pytest
from cotpd.corpus.errors import DataFormatError
from cotpd.corpus.mnre import format_mnre, read_mnre
from cotpd.corpus.registry import get_dataset

LINES = [
    "{'token': ['RT', '@x', ':', 'Messi', 'joins', 'Inter', 'Miami'], 'h': {'name': 'Messi', "
    "'pos': [3, 4]}, 't': {'name': 'Inter Miami', 'pos': [5, 7]}, 'img_id': 'a.jpg', "
    "'relation': '/per/org/member_of'}",
    "{'token': ['Messi', 'in', 'Rosario'], 'h': {'name': 'Messi', 'pos': [0, 1]}, "
    "'t': {'name': 'Rosario', 'pos': [2, 3]}, 'img_id': 'b.jpg', 'relation': 'None'}",
]


def write(tmp_path: Path, lines: list[str], name: str = "mnre_train.txt") -> Path:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_reads_spans_relation_and_image(tmp_path: Path) -> None:
    result = read_mnre(write(tmp_path, LINES))
    first = result.samples[0]
    assert first.head.name == "Messi" and (first.head.start, first.head.end) == (3, 4)
    assert first.tail.name == "Inter Miami" and (first.tail.start, first.tail.end) == (5, 7)
    assert first.relation == "/per/org/member_of"
    assert first.image_id == "a.jpg"
    assert [s.id for s in result.samples] == ["mnre_train-000000", "mnre_train-000001"]


def test_round_trip_gives_the_same_bytes(tmp_path: Path) -> None:
    path = write(tmp_path, LINES)
    assert format_mnre(read_mnre(path).samples).encode("utf-8") == path.read_bytes()


def test_relation_outside_the_label_set(tmp_path: Path) -> None:
    line = LINES[1].replace("'None'", "'/per/loc/lives_in'")
    relations = get_dataset("mnre").labels
    with pytest.raises(DataFormatError, match=r":2: found relation '/per/loc/lives_in'"):
        read_mnre(write(tmp_path, [LINES[0], line]), relations=relations)


def test_spans_must_not_be_empty(tmp_path: Path) -> None:
    line = LINES[1].replace("'pos': [0, 1]", "'pos': [1, 1]").replace("'name': 'Messi'",
                                                                      "'name': ''")
    with pytest.raises(DataFormatError, match=r"\[1, 1\) out of range"):
        read_mnre(write(tmp_path, [line]))


def test_blank_lines_are_counted(tmp_path: Path) -> None:
    result = read_mnre(write(tmp_path, [LINES[0], "", LINES[1]]))
    assert len(result.samples) == 2
    assert [(p.line, p.kind) for p in result.problems] == [(2, "blank line")]
