"""`cotpd data verify`: a data root checked against the recorded counts and sha256 of each
published file (corpus/data_files.yaml)."""

from pathlib import Path

import pytest
from cotpd.corpus.data_files import ExpectedFile, PublishedData, published_data, verify_root
from cotpd.corpus.fingerprint import sha256_file
from cotpd.corpus.registry import load_registry

SENTENCE = "IMGID:1\nRT\tO\n@\tO\nkatie\tB-PER\n\n"


def write_twitter2017(root: Path, sentences: dict[str, int]) -> None:
    folder = root / "twitter2017"
    folder.mkdir(parents=True, exist_ok=True)
    for name, count in sentences.items():
        (folder / name).write_text(SENTENCE * count, encoding="utf-8")


def records_for(root: Path) -> dict[str, PublishedData]:
    """Records of the files as the test wrote them, plus one file without a hash."""
    files = {f"twitter2017/{p.name}": ExpectedFile(unit="sentences", count=3,
                                                   sha256=sha256_file(p))
             for p in sorted((root / "twitter2017").iterdir())}
    files["twitter2017/extra.txt"] = ExpectedFile(unit="sentences", count=None, sha256=None)
    return {"twitter2017": PublishedData(title="t", source=None, licence=None, files=files)}


def test_matching_missing_and_different_files(tmp_path: Path) -> None:
    write_twitter2017(tmp_path, {"train.txt": 3, "valid.txt": 3, "test.txt": 3})
    (tmp_path / "twitter2017" / "extra.txt").write_text(SENTENCE * 5, encoding="utf-8")
    records = records_for(tmp_path)
    checks = {c.path: c for c in verify_root(tmp_path, records=records)}
    assert {p: c.status for p, c in checks.items()} == {
        "twitter2017/extra.txt": "unrecorded", "twitter2017/test.txt": "ok",
        "twitter2017/train.txt": "ok", "twitter2017/valid.txt": "ok"}
    assert checks["twitter2017/extra.txt"].detail == "5 sentences; no sha256 recorded to compare"

    write_twitter2017(tmp_path, {"train.txt": 2})  # one sentence short
    (tmp_path / "twitter2017" / "valid.txt").unlink()
    test = tmp_path / "twitter2017" / "test.txt"
    test.write_text(test.read_text(encoding="utf-8").replace("B-PER", "B-ORG", 1),
                    encoding="utf-8")  # same count, other bytes
    checks = {c.path: c for c in verify_root(tmp_path, records=records)}
    assert checks["twitter2017/train.txt"].status == "different"
    assert checks["twitter2017/train.txt"].detail == "2 sentences, expected 3"
    assert checks["twitter2017/valid.txt"].status == "missing"
    assert checks["twitter2017/test.txt"].status == "different"
    assert checks["twitter2017/test.txt"].detail.startswith("sha256 ")


def test_the_command_names_what_differs_and_exits_1(tmp_path: Path, cotpd) -> None:
    write_twitter2017(tmp_path, {"train.txt": 3, "valid.txt": 723})
    result = cotpd("data", "verify", tmp_path)
    assert result.exit_code == 1
    lines = result.out.splitlines()
    assert "different  twitter2017            twitter2017/train.txt: 3 sentences, expected " \
           "3373" in lines
    assert any(line.startswith("different") and "valid.txt: sha256" in line for line in lines)
    assert "missing    twitter2017            twitter2017/test.txt: not found" in lines
    assert lines[-1] == "0 of 3 files as recorded; 3 missing or different"


def test_a_named_dataset_is_checked_even_when_absent(tmp_path: Path, cotpd) -> None:
    result = cotpd("data", "verify", tmp_path, "--dataset", "mnre")
    assert result.exit_code == 1
    assert "missing    mnre                   mnre/mnre_train.txt: not found" in result.out
    assert cotpd("data", "verify", tmp_path, "--dataset", "nope").err.startswith(
        "error: unknown dataset(s) nope")


def test_an_empty_root_says_what_it_expected(tmp_path: Path, cotpd) -> None:
    result = cotpd("data", "verify", tmp_path)
    assert result.exit_code == 1
    assert "no recorded data file found" in result.err
    assert cotpd("data", "verify", tmp_path / "nowhere").exit_code == 2


def test_every_registered_split_file_is_recorded() -> None:
    """docs/data.md and `verify` cover every dataset a user must fetch (not the bundled)."""
    recorded = {path for data in published_data().values() for path in data.files}
    for spec in load_registry().values():
        if spec.bundled:
            continue
        for name in spec.splits.values():
            assert f"{spec.directory}/{name}" in recorded, (spec.name, name)


@pytest.mark.shared_data
def test_the_real_twitter2017_files_match(shared_data: Path, cotpd) -> None:
    result = cotpd("data", "verify", shared_data, "--dataset", "twitter2017")
    assert result.exit_code == 0, result.out
    assert result.out.count("sha256 matches") == 3


def test_the_data_page_shows_every_record() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "data.md").read_text(
        encoding="utf-8")
    for data in published_data().values():
        assert data.title in page
        for path, expected in data.files.items():
            row = next(line for line in page.splitlines() if line.startswith(f"| `{path}` |"))
            assert (expected.sha256 or "not recorded") in row
            assert (f"{expected.count} {expected.unit}" if expected.count is not None
                    else "not recorded") in row
