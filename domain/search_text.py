"""What the catalogue's search matches: a name's characters, its full pinyin and initials,
and its keywords, normalised the same way as what people type.

企业开办 is found by 开办, by `qiyekaiban` or `qiye`, by its initials `qykb`, and by a keyword
such as 开公司. Text is compared after NFKC (full-width letters and digits become plain
ones), lower case, without spaces.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

# Separates the fields of a search text, so that no match runs from one into the next.
SEPARATOR = "|"


def normalise(text: str) -> str:
    """As the search compares it: NFKC, lower case, no spaces, no separator."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in folded if not ch.isspace() and ch != SEPARATOR)


@lru_cache(maxsize=8192)
def pinyin_of(name: str) -> tuple[str, str]:
    """(full pinyin, initials) of a name: 企业开办 -> ("qiyekaiban", "qykb").

    Only letters and digits are kept (brackets and punctuation are dropped). Names repeat a
    great deal across regions, hence the cache."""
    full = lazy_pinyin(name, style=Style.NORMAL, errors="ignore")
    initials = lazy_pinyin(name, style=Style.FIRST_LETTER, errors="ignore")
    return _letters(full), _letters(initials)


def _letters(parts: Iterable[str]) -> str:
    return "".join(ch for ch in normalise("".join(parts)) if ch.isalnum())


def search_words(name: str, keywords: Iterable[str]) -> str:
    """Name and keywords: what a query in characters (开办) is looked for in."""
    fields = [normalise(name), *(normalise(k) for k in keywords)]
    return SEPARATOR.join(f for f in fields if f)


def search_text(name: str, keywords: Iterable[str]) -> str:
    """Name, keywords, full pinyin and initials: what a query in letters and digits (qykb,
    qiye) is looked for in."""
    full, initials = pinyin_of(name)
    return SEPARATOR.join(f for f in (search_words(name, keywords), full, initials) if f)


def in_letters(query: str) -> bool:
    """A query of ASCII letters and digits only: it may be pinyin or initials. Any other
    query can only be in the name or the keywords, a shorter text to search."""
    return query.isascii()
