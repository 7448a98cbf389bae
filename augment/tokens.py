"""Tokenizing teacher-written text the way the tweet datasets are tokenized: words and
punctuation apart, while URLs, @mentions, #hashtags and word-internal ' - . & stay whole."""

from __future__ import annotations

import re

_TOKEN = re.compile(
    r"https?://\S+"                     # a URL is one token
    r"|[#@]?\w+(?:['’\-.&]\w+)*"        # a word, maybe #/@-prefixed, with inner ' - . &
    r"|[^\w\s]"                         # any other symbol, one character at a time
)
_PIECES = re.compile(r"\w+")


def tokenize(text: str) -> list[str]:
    """Word and punctuation tokens of `text` (whitespace never makes a token)."""
    return _TOKEN.findall(text)


def folded(token: str) -> str:
    """The tolerant form of a token: lower case, no #/@ prefix, no punctuation; '' for a
    token that is punctuation only."""
    return "".join(_PIECES.findall(token.lower()))
