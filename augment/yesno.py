"""Reading a yes/no answer out of messy teacher text.

The first yes-like or no-like word decides ("Yes.", "**NO**", "yes, it is possible",
"Answer: no"), after lower-casing and stripping markup. Text that says both within its first
sentence ("yes or no"), or neither, is `None`: unparsed, which the caller counts and drops.
"""

from __future__ import annotations

import re

_YES = {"yes", "yeah", "yep", "true", "possible", "correct", "sure", "plausible"}
_NO = {"no", "nope", "false", "impossible", "incorrect", "not", "implausible"}
_WORD = re.compile(r"[a-z]+")


def parse_yes_no(text: str | None) -> bool | None:
    """True for yes, False for no, None when the answer is not readable as either."""
    if not text:
        return None
    first = re.split(r"[.!?\n]", text.strip().lower(), maxsplit=1)[0]
    words = _WORD.findall(first)
    if not words:
        return None
    if words in (["y"], ["n"]):  # a lone letter answers; inside text ("n/a") it does not
        return words == ["y"]
    yes = [i for i, w in enumerate(words) if w in _YES]
    no = [i for i, w in enumerate(words) if w in _NO]
    if yes and no:
        if "or" in words[min(yes[0], no[0]):max(yes[0], no[0])]:
            return None  # "yes or no": the question echoed, not an answer
        # "not possible" / "no, it is possible"? the first decisive word wins
        return yes[0] < no[0]
    if yes:
        return True
    if no:
        return False
    return None
