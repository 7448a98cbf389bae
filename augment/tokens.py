"""Tokenizing teacher-written text the way the tweet datasets are tokenized: words and
punctuation apart, while URLs, @mentions, #hashtags and word-internal ' - . & stay whole
(corpus.words, style "tweet", shared with `cotpd predict`)."""

from __future__ import annotations

import re

from cotpd.corpus.words import split_words

_PIECES = re.compile(r"\w+")


def tokenize(text: str) -> list[str]:
    """Word and punctuation tokens of `text` (whitespace never makes a token)."""
    return split_words(text, "tweet")


def folded(token: str) -> str:
    """The tolerant form of a token: lower case, no #/@ prefix, no punctuation; '' for a
    token that is punctuation only."""
    return "".join(_PIECES.findall(token.lower()))
