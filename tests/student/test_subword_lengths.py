"""`cotpd data stats --encoder`: sub-words per sample as the student encodes them, the figure
`student.views.max_length` is chosen from."""

import json
from pathlib import Path

from cotpd.corpus.registry import get_dataset, read_split
from cotpd.student.lengths import subword_lengths


def test_lengths_count_special_tokens_and_markers(tiny_encoder: Path) -> None:
    samples = read_split(get_dataset("demo_mnre"), "dev").samples[:5]
    both = subword_lengths(samples, str(tiny_encoder))
    start = subword_lengths(samples, str(tiny_encoder), markers="start")
    # [CLS] and [SEP], at least a sub-word per word, and <h> </h> <t> </t> as one token each.
    assert all(n >= len(s.tokens) + 6 for n, s in zip(both, samples, strict=True))
    assert [a - b for a, b in zip(both, start, strict=True)] == [2] * 5


def test_data_stats_reports_subword_percentiles_per_split(tiny_encoder: Path, cotpd) -> None:
    result = cotpd("data", "stats", "demo_mnre", "--encoder", str(tiny_encoder), "--json")
    assert result.exit_code == 0, result.err
    splits = json.loads(result.out)["splits"]
    for split in ("train", "dev", "test"):
        lengths = splits[split]["subword_lengths"]
        assert set(lengths) == {"p50", "p90", "p95", "p99", "max"}
        assert lengths["p50"] <= lengths["p99"] <= lengths["max"]
        assert lengths["p99"] > splits[split]["length_percentiles"]["p99"]
    table = cotpd("data", "stats", "demo_mnre", "--encoder", str(tiny_encoder))
    assert "sub-words p99" in table.out
    assert "sub-words" not in cotpd("data", "stats", "demo_mnre").out
