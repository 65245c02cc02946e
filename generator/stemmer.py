"""The Porter stemmer as lunr.js applies it, for the terms the search index stores.

The browser stems every query term with lunr.js's stemmer, so the index must hold exactly
the stems lunr.js would make, or a word is indexed under one stem and looked up under
another. lunr.py's own stemmer is a port of Porter's C program, which differs from lunr.js
on a final y: "delay" is "delai" there and "delay" in lunr.js, "cry" is "cry" there and
"cri" in lunr.js. So a search for "delay", "key" or "display" in the browser found nothing.

This is Porter's algorithm (1980) with lunr.js's choices: step 1c turns a final y into i
only after a consonant that is not the word's first letter, an initial y counts as a
consonant, and words shorter than three characters are left alone. Like lunr.js, it sees
text as UTF-16 code units. tests/test_stemmer.py compares it with lunr.js itself.

Its input is a token, which never contains whitespace (JavaScript's line terminators among
it): both tokenizers split on whitespace, and the index normalizes it first.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable

STEMMER = "lunr.js 2.3.9 Porter"  # part of cached analyses' keys: change it with the rules

_CONSONANTS = "[^aeiou][^aeiouy]*"  # a consonant, then more (a y after a consonant is a vowel)
_VOWELS = "[aeiouy][aeiou]*"  # a vowel, then more
# The measure m of a stem: how many vowel-consonant sequences follow its first consonants.
_M_ABOVE_0 = re.compile(f"(?:{_CONSONANTS})?{_VOWELS}{_CONSONANTS}")
_M_IS_1 = re.compile(f"(?:{_CONSONANTS})?{_VOWELS}{_CONSONANTS}(?:{_VOWELS})?")
_M_ABOVE_1 = re.compile(f"(?:{_CONSONANTS})?{_VOWELS}{_CONSONANTS}{_VOWELS}{_CONSONANTS}")
_HAS_VOWEL = re.compile(f"(?:{_CONSONANTS})?[aeiouy]")
# A whole stem of consonants, one vowel and a last consonant other than w, x or y ("hop").
_SHORT_CVC = re.compile(f"{_CONSONANTS}[aeiouy][^aeiouwxy]")

_STEP2 = {
    "ational": "ate",
    "tional": "tion",
    "enci": "ence",
    "anci": "ance",
    "izer": "ize",
    "bli": "ble",
    "alli": "al",
    "entli": "ent",
    "eli": "e",
    "ousli": "ous",
    "ization": "ize",
    "ation": "ate",
    "ator": "ate",
    "alism": "al",
    "iveness": "ive",
    "fulness": "ful",
    "ousness": "ous",
    "aliti": "al",
    "iviti": "ive",
    "biliti": "ble",
    "logi": "log",
}
_STEP3 = {
    "icate": "ic",
    "ative": "",
    "alize": "al",
    "iciti": "ic",
    "ical": "ic",
    "ful": "",
    "ness": "",
}
_STEP4 = "al ance ence er ic able ible ant ement ment ent ou ism ate iti ous ive ize".split()


def stem(word: str) -> str:
    """Return the stem lunr.js would give `word` (the index caches it per token)."""
    if word.isascii() or len(units := _code_units(word)) == len(word):
        return _stem(word)
    return _from_code_units(_stem(units))


def _code_units(text: str) -> str:
    """Return `text` with each character outside the BMP as its two UTF-16 surrogates."""
    return "".join(map(chr, array("H", text.encode("utf-16-le", "surrogatepass"))))


def _from_code_units(units: str) -> str:
    """Join surrogate pairs back into characters."""
    return units.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _stem(word: str) -> str:
    """Apply the steps in order; a step runs only if the word ends in a letter it rewrites."""
    if len(word) < 3 or word[-1] not in _ANY_STEP:
        return word
    initial_y = word[0] == "y"
    if initial_y:
        word = "Y" + word[1:]  # a consonant for every rule below
    if word[-1] == "s":
        word = _step1a(word)
    if word[-1] in "dg":
        word = _step1b(word)
    if word[-1] == "y":
        word = _step1c(word)
    if word[-1] in _STEP2_LAST:
        word = _step2(word)
    if word[-1] in _STEP3_LAST:
        word = _step3(word)
    if word[-1] in _STEP4_LAST:
        word = _step4(word)
    if word[-1] in "el":
        word = _step5(word)
    return "y" + word[1:] if initial_y else word


def _by_ending(suffixes: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Index suffixes (two letters or more) by their last two letters, longest first."""
    index: dict[str, list[str]] = {}
    for suffix in sorted(suffixes, key=len, reverse=True):
        index.setdefault(suffix[-2:], []).append(suffix)
    return {ending: tuple(group) for ending, group in index.items()}


_STEP2_ENDINGS, _STEP3_ENDINGS, _STEP4_ENDINGS = map(_by_ending, (_STEP2, _STEP3, _STEP4))
# The last letters each step rewrites (no step shortens a word to nothing): a word ending in
# another letter skips the step, and a word ending in none of them is its own stem.
_STEP2_LAST, _STEP3_LAST = frozenset(s[-1] for s in _STEP2), frozenset(s[-1] for s in _STEP3)
_STEP4_LAST = frozenset(s[-1] for s in _STEP4) | {"n"}  # and -ion
_ANY_STEP = frozenset("sdgy") | _STEP2_LAST | _STEP3_LAST | _STEP4_LAST | frozenset("el")


def _longest_suffix(word: str, index: dict[str, tuple[str, ...]]) -> str | None:
    """Return the longest indexed suffix that ends `word` and leaves at least one letter."""
    for suffix in index.get(word[-2:], ()):
        if len(word) > len(suffix) and word.endswith(suffix):
            return suffix
    return None


def _step1a(word: str) -> str:
    """Plurals: sses -> ss, ies -> i, s -> (nothing) unless ss."""
    if (len(word) > 4 and word.endswith("sses")) or (len(word) > 3 and word.endswith("ies")):
        return word[:-2]
    if len(word) > 2 and word[-1] == "s" and word[-2] != "s":
        return word[:-1]
    return word


def _step1b(word: str) -> str:
    """Past tenses and gerunds: eed -> ee (m > 0); ed, ing -> (nothing) after a vowel."""
    if len(word) > 3 and word.endswith("eed"):
        return word[:-1] if _M_ABOVE_0.match(word[:-3]) else word
    if len(word) > 3 and word.endswith("ing"):
        base = word[:-3]
    elif len(word) > 2 and word.endswith("ed"):
        base = word[:-2]
    else:
        return word
    if not _HAS_VOWEL.match(base):
        return word
    if base.endswith(("at", "bl", "iz")):
        return base + "e"
    if len(base) > 1 and base[-1] == base[-2] and base[-1] not in "aeiouylsz":
        return base[:-1]
    if _SHORT_CVC.fullmatch(base):
        return base + "e"
    return base


def _step1c(word: str) -> str:
    """A final y after a consonant that is not the first letter becomes i."""
    if len(word) > 2 and word[-1] == "y" and word[-2] not in "aeiou":
        return word[:-1] + "i"
    return word


def _step2(word: str) -> str:
    """Double suffixes to single ones (m > 0): ational -> ate, iveness -> ive, ..."""
    suffix = _longest_suffix(word, _STEP2_ENDINGS)
    if suffix and _M_ABOVE_0.match(word[: -len(suffix)]):
        return word[: -len(suffix)] + _STEP2[suffix]
    return word


def _step3(word: str) -> str:
    """More suffixes (m > 0): icate -> ic, ful -> (nothing), ..."""
    suffix = _longest_suffix(word, _STEP3_ENDINGS)
    if suffix and _M_ABOVE_0.match(word[: -len(suffix)]):
        return word[: -len(suffix)] + _STEP3[suffix]
    return word


def _step4(word: str) -> str:
    """Drop a last suffix (m > 1): al, ance, ment, ... or ion after s or t."""
    suffix = _longest_suffix(word, _STEP4_ENDINGS)
    if suffix:
        base = word[: -len(suffix)]
        return base if _M_ABOVE_1.match(base) else word
    if len(word) > 4 and word.endswith(("sion", "tion")) and _M_ABOVE_1.match(word[:-3]):
        return word[:-3]
    return word


def _step5(word: str) -> str:
    """Drop a final e (m > 1, or m = 1 unless the stem ends like "hop"), then ll -> l."""
    if len(word) > 1 and word[-1] == "e":
        base = word[:-1]
        if _M_ABOVE_1.match(base) or (_M_IS_1.fullmatch(base) and not _SHORT_CVC.fullmatch(base)):
            word = base
    if word.endswith("ll") and _M_ABOVE_1.match(word):
        word = word[:-1]
    return word
