from pathlib import Path

import pytest
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.registry import DATA_ROOT_ENV, get_dataset, load_registry, split_path


def test_registry_covers_the_paper_datasets() -> None:
    registry = load_registry()
    for name in ["twitter2015", "twitter2017", "snap", "wikidiverse", "mnre", "demo_mner",
                 "demo_mnre"]:
        assert name in registry
    assert registry["twitter2015"].labels == ("PER", "LOC", "ORG", "OTHER")
    assert registry["twitter2017"].labels == ("PER", "LOC", "ORG", "MISC")
    assert registry["mnre"].task == "mre" and len(registry["mnre"].labels) == 23
    assert registry["mnre"].splits["dev"] == "mnre_val .txt"
    assert registry["demo_mnre"].labels == registry["mnre"].labels


def test_typo_in_a_dataset_name() -> None:
    with pytest.raises(CotpdError, match="did you mean 'mnre'"):
        get_dataset("mnr")


def test_missing_data_root_says_how_to_give_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATA_ROOT_ENV, raising=False)
    with pytest.raises(CotpdError, match="--data-root"):
        split_path(get_dataset("twitter2017"), "train", None)


def test_missing_file_names_the_expected_layout(tmp_path: Path) -> None:
    (tmp_path / "twitter2017").mkdir()
    with pytest.raises(CotpdError) as caught:
        split_path(get_dataset("twitter2017"), "dev", tmp_path)
    message = str(caught.value)
    assert str(tmp_path / "twitter2017" / "valid.txt") in message
    assert "expected layout" in message and "test.txt" in message


def test_data_root_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mnre").mkdir()
    (tmp_path / "mnre" / "mnre_train.txt").write_text("x\n")
    monkeypatch.setenv(DATA_ROOT_ENV, str(tmp_path))
    assert split_path(get_dataset("mnre"), "train", None) == tmp_path / "mnre" / "mnre_train.txt"
