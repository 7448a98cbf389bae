"""Scoring prediction files against gold files, for `cotpd eval score`."""

from __future__ import annotations

from pathlib import Path

from cotpd.corpus.conll import read_conll
from cotpd.corpus.discover import sniff_format
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.mnre import read_mnre
from cotpd.corpus.records import MnerSample, MreSample
from cotpd.eval.metrics import MnerScores, MreScores, mner_scores, mre_scores


def score_files(gold_path: Path, pred_path: Path) -> MnerScores | MreScores:
    """Score a prediction file written in the gold file's own format (CoNLL+IMGID for MNER,
    MNRE lines for MRE). Sentences must match one to one: same ids and tokens, same order."""
    gold_format, pred_format = sniff_format(gold_path), sniff_format(pred_path)
    if gold_format != pred_format:
        raise CotpdError(f"{pred_path}: a {pred_format} file, but the gold file {gold_path} is "
                         f"{gold_format}; expected predictions in the gold file's format")
    if gold_format == "conll":
        gold = read_conll(gold_path).samples
        pred = read_conll(pred_path).samples
        _check_aligned(gold, pred, gold_path, pred_path)
        return mner_scores([g.labels for g in gold], [p.labels for p in pred])
    gold_rel = read_mnre(gold_path).samples
    pred_rel = read_mnre(pred_path).samples
    _check_aligned(gold_rel, pred_rel, gold_path, pred_path)
    return mre_scores([g.relation for g in gold_rel], [p.relation for p in pred_rel])


def _check_aligned(gold: list[MnerSample] | list[MreSample], pred: list, gold_path: Path,
                   pred_path: Path) -> None:
    if len(gold) != len(pred):
        raise CotpdError(f"{pred_path}: {len(pred)} sentences, but {gold_path} has {len(gold)}; "
                         "expected one prediction per gold sentence, in the same order")
    for index, (g, p) in enumerate(zip(gold, pred, strict=True)):
        if g.tokens != p.tokens or g.image_id != p.image_id:
            raise CotpdError(f"{pred_path}: sentence {index + 1} (id {p.image_id!r}) differs from "
                             f"gold sentence {index + 1} (id {g.image_id!r}); expected the same "
                             "ids and tokens in the same order")
        if isinstance(g, MreSample) and (g.head, g.tail) != (p.head, p.tail):
            raise CotpdError(f"{pred_path}: instance {index + 1} has another head/tail pair than "
                             "the gold instance; expected the same pairs in the same order")
