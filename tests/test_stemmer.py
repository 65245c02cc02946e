"""The index's stemmer gives exactly the stems lunr.js gives in the browser."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

from lunr.stemmer import porter_stemmer
from test_search_agreement import LUNR_JS, _node
from test_search_index import corpus_docs

from generator.stemmer import stem
from generator.terms import TOKEN_RE, normalize_text, trim_word

SUFFIXES = (
    "sses ies ss s eed ed ing at bl iz y yy ey ay ational tional enci anci izer bli alli entli "
    "eli ousli ization ation ator alism iveness fulness ousness aliti iviti biliti logi icate "
    "ative alize iciti ical ful ness al ance ence er ic able ible ant ement ment ent ou ism ate "
    "iti ous ive ize sion tion e ll"
).split()
LETTERS = "abcdefghijklmnopqrstuvwxyzaeiouy"  # vowels twice: more vowel-consonant runs
ODD = ("é", "ß", "ü", "𝔘", "😀", "Y", "-", "'")  # non-ASCII, astral (two UTF-16 units), ...


def lunr_js_stems(words: list[str], tmp_path: Path) -> list[str]:
    """Stem every word with lunr.js's own stemmer, in Node."""
    source = tmp_path / "words.json"
    source.write_text(json.dumps(words), encoding="utf-8")
    script = (
        f"const lunr = require({json.dumps(str(LUNR_JS))});"
        f"const words = JSON.parse(require('fs').readFileSync({json.dumps(str(source))}, 'utf8'));"
        "console.log(JSON.stringify(words.map(w => lunr.stemmer(new lunr.Token(w)).toString())));"
    )
    done = subprocess.run([_node(), "-e", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def corpus_words() -> list[str]:
    """Return every distinct trimmed token of the shipped papers."""
    words = set()
    for doc in corpus_docs():
        for text in (doc.title, doc.abstract):
            words.update(trim_word(t) for t in TOKEN_RE.findall(normalize_text(text).lower()))
    return sorted(words - {""})


def made_up_words(count: int, seed: int) -> list[str]:
    """Return words built to reach every rule: letter runs, suffixes, an initial y, odd letters."""
    rng = random.Random(seed)
    words = set()
    while len(words) < count:
        letters = rng.randint(0, 6)
        word = "".join(rng.choice(LETTERS) for _ in range(letters))
        if rng.random() < 0.2:
            word = "y" + word
        word += "".join(rng.choice(SUFFIXES) for _ in range(rng.randint(0, 2)))
        if rng.random() < 0.1:
            word = rng.choice(ODD) + word if rng.random() < 0.5 else word + rng.choice(ODD)
        words.add(word)
    return sorted(words)


def _mismatches(words: list[str], tmp_path: Path) -> list[tuple[str, str, str]]:
    expected = lunr_js_stems(words, tmp_path)
    return [(w, stem(w), js) for w, js in zip(words, expected, strict=True) if stem(w) != js]


def test_every_word_of_the_shipped_papers_stems_as_in_lunr_js(tmp_path: Path) -> None:
    words = corpus_words()
    assert len(words) > 5000
    assert _mismatches(words, tmp_path) == []


def test_made_up_words_stem_as_in_lunr_js(tmp_path: Path) -> None:
    words = made_up_words(40_000, seed=5)
    short = ["", "a", "y", "ys", "yy", "yyy", "ye", "yes", "𝔘", "𝔘s", "a𝔘s", "𝔘𝔘", "😀y"]
    assert _mismatches(short + words, tmp_path) == []


def test_where_lunr_py_differs_lunr_js_is_followed() -> None:
    # Step 1c: lunr.js keeps a y after a vowel and turns a y after a consonant into i.
    for word, ours, lunr_py in [("delay", "delay", "delai"), ("cry", "cri", "cry")]:
        assert porter_stemmer.stem(word) == lunr_py
        assert stem(word) == ours
