"""Finding the gold entities of a sample again in a rewrite of its text.

Each entity (its token sequence) is searched in the rewrite's tokens:

1. exact: the same tokens, contiguous.
2. tolerant, only when there is no exact match: tokens compared after `folded` (lower case,
   `#`/`@` prefixes and punctuation removed, punctuation-only tokens skipped), so the
   concatenated letters must be equal. This covers a changed case ("lakers"), a hashtag or
   mention ("#Lakers", "@TobeyMaguire" for "Tobey Maguire") and a multi-token entity that the
   rewrite splits or joins at punctuation ("St . Louis" / "St. Louis"). A tolerant span starts
   and ends on a token that is not punctuation only.

An entity must be found exactly as many times as the source has it (usually once); longer
entities are placed first and their tokens are taken, so "Madrid" inside "Real Madrid" is
not a second "Madrid". Anything else drops the rewrite with a reason:
`entity_missing` (not found), `entity_repeated` (found more often than in the source),
`empty` (nothing written), `unchanged` (the source text again).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from cotpd.augment.tokens import folded, tokenize
from cotpd.corpus.bio import bio_spans
from cotpd.corpus.records import Mention, MnerSample, MreSample, Sample

Span = tuple[int, int]


@dataclass
class Alignment:
    """The rewrite's tokens and where each entity went, or why the rewrite was dropped."""

    tokens: list[str]
    spans: list[Span] = field(default_factory=list)  # one per entity, in the order given
    matches: Counter[str] = field(default_factory=Counter)  # exact/case/hashtag/punctuation
    dropped: str | None = None


def _exact(tokens: Sequence[str], entity: Sequence[str]) -> list[Span]:
    n = len(entity)
    return [(i, i + n) for i in range(len(tokens) - n + 1) if list(tokens[i:i + n]) == list(entity)]


def _tolerant(tokens: Sequence[str], entity: Sequence[str]) -> list[Span]:
    target = "".join(folded(t) for t in entity)
    if not target:
        return []
    keys = [folded(t) for t in tokens]
    found = []
    for start, key in enumerate(keys):
        if not key or not target.startswith(key):
            continue
        joined = ""
        for end in range(start, len(keys)):
            joined += keys[end]
            if not target.startswith(joined):
                break
            if joined == target and keys[end]:
                found.append((start, end + 1))
                break
    return found


def _tolerance(found: Sequence[str], entity: Sequence[str]) -> str:
    """Which tolerance a match needed: case, a #/@ prefix, else punctuation splits."""
    if any(t[:1] in "#@" and t[1:] for t in found):
        return "hashtag"
    if [t.lower() for t in found] == [t.lower() for t in entity]:
        return "case"
    return "punctuation"


def locate(tokens: Sequence[str], entities: Sequence[Sequence[str]]) -> Alignment:
    """Place every entity (a token list) in `tokens`; see the module notes for the rules."""
    result = Alignment(tokens=list(tokens))
    wanted = Counter(tuple(e) for e in entities)
    placed: dict[tuple[str, ...], list[Span]] = {}
    taken: set[int] = set()
    for entity in sorted(wanted, key=lambda e: (-len(e), e)):
        spans = [s for s in _exact(tokens, entity) if not taken & set(range(*s))]
        exact = bool(spans)
        if not exact:
            spans = [s for s in _tolerant(tokens, entity) if not taken & set(range(*s))]
        if not spans:
            result.dropped = "entity_missing"
            return result
        if len(spans) > wanted[entity]:
            result.dropped = "entity_repeated"
            return result
        if len(spans) < wanted[entity]:
            result.dropped = "entity_missing"
            return result
        for span in spans:
            result.matches["exact" if exact else _tolerance(tokens[span[0]:span[1]],
                                                            entity)] += 1
        placed[entity] = spans
        for span in spans:
            taken |= set(range(*span))
    order = {entity: iter(spans) for entity, spans in placed.items()}
    result.spans = [next(order[tuple(e)]) for e in entities]  # left to right per entity
    return result


def _check_text(source: Sample, text: str) -> Alignment | None:
    tokens = tokenize(text)
    if not tokens:
        return Alignment(tokens=[], dropped="empty")
    if [folded(t) for t in tokens] == [folded(t) for t in source.tokens]:
        return Alignment(tokens=tokens, dropped="unchanged")
    return None


def realign_mner(source: MnerSample, text: str, new_id: str) -> tuple[MnerSample | None,
                                                                        Alignment]:
    """The rewrite as a labelled sample, or None with the reason in the alignment."""
    early = _check_text(source, text)
    if early:
        return None, early
    gold = bio_spans(source.labels)
    alignment = locate(tokenize(text), [source.tokens[s.start:s.end] for s in gold])
    if alignment.dropped:
        return None, alignment
    labels = ["O"] * len(alignment.tokens)
    for entity, (start, end) in zip(gold, alignment.spans, strict=True):
        labels[start] = f"B-{entity.type}"
        labels[start + 1:end] = [f"I-{entity.type}"] * (end - start - 1)
    return MnerSample(id=new_id, tokens=alignment.tokens, labels=labels,
                      image_id=source.image_id), alignment


def realign_mre(source: MreSample, text: str, new_id: str) -> tuple[MreSample | None, Alignment]:
    """The rewrite with its head and tail re-located, or None with the reason."""
    early = _check_text(source, text)
    if early:
        return None, early
    mentions = [source.head, source.tail]
    alignment = locate(tokenize(text), [source.tokens[m.start:m.end] for m in mentions])
    if alignment.dropped:
        return None, alignment
    (hs, he), (ts, te) = alignment.spans
    tokens = alignment.tokens
    head = Mention(name=" ".join(tokens[hs:he]), start=hs, end=he)
    tail = Mention(name=" ".join(tokens[ts:te]), start=ts, end=te)
    return MreSample(id=new_id, tokens=tokens, head=head, tail=tail, relation=source.relation,
                     image_id=source.image_id), alignment
