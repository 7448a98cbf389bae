"""Splitting raw text into words the way the tweet datasets are tokenized.

Two styles, because the datasets differ:

tweet   punctuation apart; URLs, @handles, #tags and word-internal ' - . & kept whole
        ("RT @nba: MVP!" -> RT @nba : MVP !), as the bundled demo data and the augmented
        samples are tokenized
apart   every symbol apart, numbers such as 2.00 or 10,000 kept whole
        ("RT @nba: It's" -> RT @ nba : It ' s), as Twitter-2015/2017 are tokenized
"""

from __future__ import annotations

import re
from typing import Literal

WordStyle = Literal["tweet", "apart"]
WORD_STYLES: tuple[WordStyle, ...] = ("tweet", "apart")

_TWEET = re.compile(
    r"https?://\S+"                     # a URL is one token
    r"|[#@]?\w+(?:['’\-.&]\w+)*"        # a word, maybe #/@-prefixed, with inner ' - . &
    r"|[^\w\s]"                         # any other symbol, one character at a time
)
_APART = re.compile(
    r"\d+(?:[.,]\d+)+"                  # a number with decimal or thousands separators
    r"|\w+"
    r"|[^\w\s]"
)


def split_words(text: str, style: WordStyle = "tweet") -> list[str]:
    """Word and punctuation tokens of `text` (whitespace never makes a token)."""
    if style == "tweet":
        return _TWEET.findall(text)
    if style == "apart":
        return _APART.findall(text)
    raise ValueError(f"unknown word style {style!r}; expected one of {', '.join(WORD_STYLES)}")
