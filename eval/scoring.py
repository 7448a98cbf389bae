"""Scoring prediction files against gold files, for `cotpd eval score`."""

from __future__ import annotations

from pathlib import Path

from cotpd.corpus.discover import sniff_format
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.records import Sample
from cotpd.corpus.tasks import task_for_format
from cotpd.eval.metrics import MnerScores, MreScores
from cotpd.eval.tasks import EvalTask, eval_task


def score_files(gold_path: Path, pred_path: Path) -> MnerScores | MreScores:
    """Score a prediction file written in the gold file's own format (CoNLL+IMGID for MNER,
    MNRE lines for MRE). Sentences must match one to one: same ids and tokens, same order."""
    gold_format, pred_format = sniff_format(gold_path), sniff_format(pred_path)
    if gold_format != pred_format:
        raise CotpdError(f"{pred_path}: a {pred_format} file, but the gold file {gold_path} is "
                         f"{gold_format}; expected predictions in the gold file's format")
    task = task_for_format(gold_format)
    gold = task.read(gold_path, None).samples
    pred = task.read(pred_path, None).samples
    scoring = eval_task(task.name)
    _check_aligned(scoring, gold, pred, gold_path, pred_path)
    return scoring.score_samples(gold, [task.target(p) for p in pred])


def _check_aligned(task: EvalTask, gold: list[Sample], pred: list[Sample], gold_path: Path,
                   pred_path: Path) -> None:
    if len(gold) != len(pred):
        raise CotpdError(f"{pred_path}: {len(pred)} sentences, but {gold_path} has {len(gold)}; "
                         "expected one prediction per gold sentence, in the same order")
    for index, (g, p) in enumerate(zip(gold, pred, strict=True)):
        if g.tokens != p.tokens or g.image_id != p.image_id:
            raise CotpdError(f"{pred_path}: sentence {index + 1} (id {p.image_id!r}) differs from "
                             f"gold sentence {index + 1} (id {g.image_id!r}); expected the same "
                             "ids and tokens in the same order")
        if not task.same_instance(g, p):
            raise CotpdError(f"{pred_path}: instance {index + 1} has another head/tail pair than "
                             "the gold instance; expected the same pairs in the same order")
