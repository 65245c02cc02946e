"""Title keys (what makes two titles the same paper) and safe, stable file-name slugs."""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata

MAX_SLUG = 80
_ASCII_WORD = re.compile(r"[a-z0-9]+")
_RESERVED = {
    "con",
    "prn",
    "aux",
    "nul",
    "index",
    "search",
    "feeds",
    "assets",
    "topics",
    "papers",
    *(f"com{i}" for i in range(10)),
    *(f"lpt{i}" for i in range(10)),
}


def title_key(title: str) -> str:
    """Return the identity of a title: case, punctuation, spacing and Unicode form ignored."""
    if title.isascii():  # both normal forms leave ASCII alone; its case folding is lower()
        text = title.lower()
        key = "".join(_ASCII_WORD.findall(text))
    else:
        text = unicodedata.normalize("NFKC", title).casefold()
        key = "".join(filter(str.isalnum, unicodedata.normalize("NFKD", text)))
    return key or "".join(text.split())  # symbol-only titles keep their symbols


def _ascii_words(title: str) -> list[str]:
    if title.isascii():
        return _ASCII_WORD.findall(title.lower())
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", title).casefold())
    text = "".join(itertools.filterfalse(unicodedata.combining, text))
    return _ASCII_WORD.findall(text.encode("ascii", "ignore").decode("ascii"))


def slugify(title: str) -> str:
    """Return a lowercase ASCII slug, unique per title key and safe as a file name.

    Pure-ASCII titles map to their words joined by dashes, which is already unique per key.
    Anything lossy (non-ASCII letters, truncation, empty or reserved names) gets a short
    hash of the key appended, so the result never depends on which title arrived first.
    """
    key = title_key(title)
    words = _ascii_words(title)
    base = "-".join(words)
    lossless = bool(base) and base.replace("-", "") == key and len(base) <= MAX_SLUG
    if lossless and base not in _RESERVED:
        return base
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]
    base = base[: MAX_SLUG - 11].rstrip("-") or "paper"
    return f"{base}-{digest}"
