"""`--data-root` on every command that reads a dataset, meaning the same as
data.data_root / $COTPD_DATA_ROOT."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SENTENCE = "IMGID:{}\nKawhi\tB-PER\nLeonard\tI-PER\nwins\tO\n\n"


@pytest.mark.parametrize("command", [["run"], ["evaluate"], ["train"], ["caption"], ["teach"],
                                     ["augment"], ["data", "prepare"], ["data", "stats"],
                                     ["study"]])
def test_every_data_command_takes_a_data_root(command: list[str], cotpd) -> None:
    result = cotpd(*command, "--help")
    assert result.exit_code == 0 and "--data-root" in result.out


def test_data_prepare_reads_the_given_root(tmp_path: Path, cotpd) -> None:
    folder = tmp_path / "root" / "twitter2017"
    folder.mkdir(parents=True)
    for name, count in (("train.txt", 3), ("valid.txt", 2), ("test.txt", 2)):
        text = "".join(SENTENCE.format(f"{name}{i}") for i in range(count))
        (folder / name).write_text(text, encoding="utf-8")
    result = cotpd("data", "prepare", REPO / "configs" / "twitter2017.yaml",
                   "--data-root", tmp_path / "root", "--set", f"run.output_dir={tmp_path}")
    assert result.exit_code == 0, result.err
    assert "twitter2017: prepared: train 3, dev 2, test 2" in result.out
