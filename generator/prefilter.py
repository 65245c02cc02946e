"""Literal prefilters for regular expressions: word pieces a match cannot do without.

`analyse` reads a compiled pattern's parse tree and returns its clauses: in ASCII text, every
match contains, for each clause, at least one of the clause's pieces. A piece is a lower-cased
run of word characters; one written `<piece` must also start a word of the text (the pattern
puts `\\b`, `^` or a non-word character right before it). `PieceIndex` tells which pieces occur
in a text, word by word with a memo, so a rule whose clauses are not all met is skipped without
running its regex. Text with any non-ASCII character is never prefiltered: case-insensitive
matching can then reach ASCII letters from other characters (the Kelvin sign matches `k`).

`analyse` also says whether a pattern is *local*: a match inside a part of a text delimited by
whitespace (a sentence) is then also a match in the whole text, because the pattern only uses
characters, classes, groups, alternatives, greedy or lazy repeats and `\\b`/`\\B`. A local
pattern is also *sentence-bound* when it can neither consume `.`, `!` or `?` nor begin with a
space: then none of its matches crosses a sentence break, so searching every sentence finds
every match in the text.

Anything the analysis does not understand yields no clause and a non-local pattern, which
only makes the prefilter weaker, never wrong.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

try:
    from re import _constants as _c
    from re import _parser
except ImportError:  # pragma: no cover - Python 3.10 and older keep them as sre_*
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _parser  # type: ignore[no-redef]

MAX_CLAUSES = 16  # clauses a choice between alternatives may expand to
_MAX_MEMO = 500_000  # words remembered per index (a few tens of MB at most)
MIN_PIECE = 3  # shorter pieces are in nearly every text: not worth checking
START = "<"  # marks a piece that must start a word
_WORD = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
_TOKEN_RE = re.compile(r"[a-z0-9_]+")
_STARTS = {_c.AT_BOUNDARY, _c.AT_BEGINNING, _c.AT_BEGINNING_LINE, _c.AT_BEGINNING_STRING}
_LOCAL_AT = {_c.AT_BOUNDARY, _c.AT_NON_BOUNDARY}
_REPEATS = {_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT}
_LOCAL_OPS = {_c.LITERAL, _c.NOT_LITERAL, _c.IN, _c.ANY, _c.BRANCH, _c.SUBPATTERN}
_LOCAL_OPS |= {_c.MAX_REPEAT, _c.MIN_REPEAT}
_REFS = {_c.GROUPREF, _c.GROUPREF_EXISTS}
_CONTAINERS = {_c.SUBPATTERN, _c.ATOMIC_GROUP, _c.BRANCH, _c.ASSERT, _c.ASSERT_NOT, *_REPEATS}
_CATEGORIES = {
    _c.CATEGORY_DIGIT: str.isdecimal,
    _c.CATEGORY_NOT_DIGIT: lambda c: not c.isdecimal(),
    _c.CATEGORY_SPACE: str.isspace,
    _c.CATEGORY_NOT_SPACE: lambda c: not c.isspace(),
    _c.CATEGORY_WORD: lambda c: c.isalnum() or c == "_",
    _c.CATEGORY_NOT_WORD: lambda c: not (c.isalnum() or c == "_"),
}  # exact for the punctuation and space asked about here

Clauses = tuple[frozenset[str], ...]


@dataclass(frozen=True)
class Prefilter:
    """What any match of one pattern needs, and whether its matches stay local."""

    clauses: Clauses
    local: bool
    sentence_bound: bool  # local, and a match never crosses a sentence break (". ")
    backrefs: bool


def analyse(pattern: re.Pattern[str]) -> Prefilter:
    """Return the prefilter of a compiled str pattern (an empty one if it cannot be read)."""
    try:
        tree = list(_parser.parse(pattern.pattern, pattern.flags))
        clauses, _ = _sequence(tree, False)
        bound = _is_local(tree) and not _may_consume(tree, ".!?") and not _may_start(tree, " ")[0]
        return Prefilter(_ordered(_minimal(clauses)), _is_local(tree), bound, _has_refs(tree))
    except Exception:  # noqa: BLE001 - an unreadable tree only means no prefilter
        return Prefilter((), False, False, True)


def _ordered(clauses: list[frozenset[str]]) -> Clauses:
    """Drop repeated clauses; put the most selective (longest shortest piece) first."""
    unique = list(dict.fromkeys(clauses))
    return tuple(sorted(unique, key=lambda c: (-min(map(_piece_len, c)), len(c))))


def _piece_len(piece: str) -> int:
    return len(piece) - piece.startswith(START)


def _sequence(items: Iterable[tuple[Any, Any]], start: bool) -> tuple[list[frozenset[str]], bool]:
    """Return the clauses of a sequence and whether a word cannot continue across its end.

    `start` (and the returned state) means: a word character consumed next begins a word.
    """
    clauses: list[frozenset[str]] = []
    piece, piece_start, state = "", False, start
    for op, av in items:
        char = chr(av).lower() if op is _c.LITERAL and av < 128 else None
        if char is not None and char in _WORD:
            piece, piece_start = piece + char, piece_start if piece else state
            state = False
            continue
        _flush(clauses, piece, piece_start)
        piece = ""
        if char is not None:
            state = True  # an ASCII non-word character: a word starts after it
            continue
        found, state = _item(op, av, state)
        clauses += found
    _flush(clauses, piece, piece_start)
    return clauses, state


def _flush(clauses: list[frozenset[str]], piece: str, at_start: bool) -> None:
    if len(piece) >= MIN_PIECE:
        clauses.append(frozenset({START + piece if at_start else piece}))


def _item(op: Any, av: Any, state: bool) -> tuple[list[frozenset[str]], bool]:
    """Return the clauses of one non-literal item and the state after it."""
    if op is _c.AT:
        return [], True if av in _STARTS else state
    if op in (_c.ASSERT, _c.ASSERT_NOT):
        return [], state  # zero-width: the position does not move
    if op is _c.IN:
        return [], _non_word_class(av)
    if op is _c.SUBPATTERN:
        return _sequence(av[-1], state)
    if op is _c.ATOMIC_GROUP:
        return _sequence(av, state)
    if op is _c.BRANCH:
        return _branch(av[1], state)
    if op in _REPEATS:
        return _repeat(av, state)
    return [], False


def _non_word_class(members: list[tuple[Any, Any]]) -> bool:
    """Tell whether a character class can only match ASCII non-word characters."""
    return all(op is _c.LITERAL and av < 128 and chr(av) not in _WORD for op, av in members)


def _branch(alternatives: list[Any], state: bool) -> tuple[list[frozenset[str]], bool]:
    """Return the clauses of `a|b|...`: each joins one clause of every alternative."""
    results = [_sequence(alt, state) for alt in alternatives]
    after = all(end for _, end in results)
    options = [_ordered(found) for found, _ in results]
    if not all(options):
        return [], after
    width = max(len(o) for o in options)
    while width > 1 and math.prod(min(len(o), width) for o in options) > MAX_CLAUSES:
        width -= 1
    picks = itertools.product(*(o[:width] for o in options))
    return _minimal([frozenset().union(*pick) for pick in picks]), after


def _minimal(clauses: list[frozenset[str]]) -> list[frozenset[str]]:
    """Drop clauses implied by a smaller one (a superset is met whenever its subset is)."""
    unique = sorted(set(clauses), key=len)
    return [c for i, c in enumerate(unique) if not any(d < c for d in unique[:i])]


def _repeat(av: tuple[int, int, Any], state: bool) -> tuple[list[frozenset[str]], bool]:
    low, high, body = av
    if high == 0:
        return [], state
    found, _ = _sequence(body, state)  # the first repetition starts here
    _, end = _sequence(body, False)  # later ones start wherever the previous one ended
    if low == 0:
        return [], state and end
    return found, end


def _walk(items: Iterable[tuple[Any, Any]]) -> Iterable[tuple[Any, Any]]:
    """Yield every item of a parse tree, nested ones included."""
    for op, av in items:
        yield op, av
        if op is _c.SUBPATTERN:
            yield from _walk(av[-1])
        elif op in (_c.ATOMIC_GROUP,):
            yield from _walk(av)
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            yield from _walk(av[1])
        elif op is _c.BRANCH:
            for alt in av[1]:
                yield from _walk(alt)
        elif op in _REPEATS:
            yield from _walk(av[2])
        elif op is _c.GROUPREF_EXISTS:
            yield from _walk(av[1])
            if av[2] is not None:
                yield from _walk(av[2])


def _is_local(tree: list[tuple[Any, Any]]) -> bool:
    return all(op in _LOCAL_OPS or (op is _c.AT and av in _LOCAL_AT) for op, av in _walk(tree))


def _has_refs(tree: list[tuple[Any, Any]]) -> bool:
    return any(op in _REFS for op, _ in _walk(tree))


def _may_consume(items: Iterable[tuple[Any, Any]], chars: str) -> bool:
    """Tell whether a pattern may consume one of `chars` anywhere (True when unsure)."""
    return any(_item_may_be(op, av, chars) for op, av in _walk(items))


def _may_start(items: Iterable[tuple[Any, Any]], chars: str) -> tuple[bool, bool]:
    """Return whether a match may begin with one of `chars`, and whether it may be empty."""
    may = False
    for op, av in items:
        if op is _c.SUBPATTERN or op is _c.ATOMIC_GROUP:
            first, empty = _may_start(av[-1] if op is _c.SUBPATTERN else av, chars)
        elif op is _c.BRANCH:
            starts = [_may_start(alt, chars) for alt in av[1]]
            first, empty = any(f for f, _ in starts), any(e for _, e in starts)
        elif op in _REPEATS:
            first, empty = _may_start(av[2], chars)
            empty = empty or av[0] == 0
        elif op is _c.AT or op is _c.ASSERT or op is _c.ASSERT_NOT:
            first, empty = False, True
        else:
            first, empty = _item_may_be(op, av, chars), op in _REFS
        may = may or first
        if not empty:
            return may, False
    return may, True


def _item_may_be(op: Any, av: Any, chars: str) -> bool:
    """Tell whether one consuming item may match one of `chars` (containers say no)."""
    if op is _c.LITERAL:
        return chr(av) in chars
    if op is _c.NOT_LITERAL:
        return any(ord(c) != av for c in chars)
    if op is _c.IN:
        return any(_in_class(av, c) for c in chars)
    if op in _CONTAINERS or op is _c.AT:
        return False
    return True


def _in_class(members: list[tuple[Any, Any]], char: str) -> bool:
    """Tell whether a class matches an uncased character (True when unsure)."""
    negate, hit = False, False
    for op, av in members:
        if op is _c.NEGATE:
            negate = True
        elif op is _c.LITERAL:
            hit = hit or av == ord(char)
        elif op is _c.RANGE:
            hit = hit or av[0] <= ord(char) <= av[1]
        elif op is _c.CATEGORY and av in _CATEGORIES:
            hit = hit or _CATEGORIES[av](char)
        else:
            return True
    return hit != negate


class _Memo(dict[str, int]):
    """Word -> mask of its pieces, computed the first time a word is looked up."""

    def __init__(self, compute: Callable[[str], int]) -> None:
        super().__init__()
        self.compute = compute

    def __missing__(self, word: str) -> int:
        if len(self) >= _MAX_MEMO:
            self.clear()  # bound memory on huge inputs
        mask = self[word] = self.compute(word)
        return mask


class PieceIndex:
    """Find which of a fixed set of pieces occur in ASCII text, as a bit mask memoised per word.

    Each piece has one bit; a clause is the mask of its pieces, met when it shares a bit with
    the text's mask.
    """

    def __init__(self, pieces: Iterable[str]) -> None:
        self.bits = {piece: 1 << i for i, piece in enumerate(sorted(set(pieces)))}
        self.starts = {p[len(START) :]: b for p, b in self.bits.items() if p.startswith(START)}
        self.lengths = sorted({len(p) for p in self.starts})
        self.inner = [(p, b) for p, b in self.bits.items() if not p.startswith(START)]
        self.memo = _Memo(self._mask)

    def masks(self, clauses: Clauses) -> tuple[int, ...]:
        """Return the mask of each clause (its pieces must all be known to the index)."""
        return tuple(functools.reduce(operator.or_, map(self.bits.get, c), 0) for c in clauses)

    def present(self, text: str) -> int:
        """Return the mask of the pieces occurring in an ASCII text."""
        return functools.reduce(operator.or_, self._words(text.split()), 0)

    def present_in_parts(self, parts: Sequence[str]) -> list[int]:
        """Return the mask of each part: non-empty ASCII texts of words and single spaces."""
        masks = self._words(" ".join(parts).split())
        bounds = [0, *itertools.accumulate(part.count(" ") + 1 for part in parts)]
        spans = itertools.pairwise(bounds)
        return [functools.reduce(operator.or_, masks[a:b], 0) for a, b in spans]

    def _words(self, words: list[str]) -> list[int]:
        """Return the mask of each word (one pass in C; new words are computed on the way)."""
        return list(map(self.memo.__getitem__, words))

    def _mask(self, word: str) -> int:
        """Return the mask of the pieces in one whitespace-free word (it may hold several)."""
        found = 0
        for token in _TOKEN_RE.findall(word.lower()):
            for size in self.lengths:
                if size > len(token):
                    break
                found |= self.starts.get(token[:size], 0)
            for piece, bit in self.inner:
                if piece in token:
                    found |= bit
        return found


def admits(masks: tuple[int, ...], present: int) -> bool:
    """Tell whether text with the `present` pieces meets every clause mask (may match)."""
    return all(map(present.__and__, masks))
