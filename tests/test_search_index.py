"""The search payload: determinism, escaping, Unicode, sharding, size budget (lunr.py side)."""

from __future__ import annotations

import gzip
import json
import re
from functools import cache
from pathlib import Path

import pytest
from lunr.builder import Builder
from lunr.tokenizer import Tokenizer

from generator import search, terms
from generator.digest import parse_digest
from generator.search import SearchDoc, build_search_files, load_payload, search_shards
from generator.slug import slugify

REPO = Path(__file__).resolve().parent.parent
TOPIC_RULES = {
    "Pruning and sparsity": r"prun|sparsi",
    "Diffusion models": r"diffusion",
    "Language models": r"language model|\bllm",
    "Reinforcement learning": r"reinforcement|reward",
    "Hypernetworks and weight generation": r"hypernet",
}


def _topics(title: str, abstract: str) -> tuple[str, ...]:
    text = f"{title} {abstract}".lower()
    found = tuple(name for name, rule in TOPIC_RULES.items() if re.search(rule, text))
    return found or ("Other",)


@cache
def corpus_docs() -> tuple[SearchDoc, ...]:
    """Return one SearchDoc per distinct title in the shipped digests."""
    docs: dict[str, SearchDoc] = {}
    for path in sorted((REPO / "content" / "digests").glob("*.txt")):
        for record in parse_digest(path).records:
            date = record.date
            docs.setdefault(
                record.title,
                SearchDoc(
                    url=f"papers/{slugify(record.title)}.html",
                    title=record.title,
                    abstract=record.abstract,
                    topics=_topics(record.title, record.abstract),
                    year=date.year if date else None,
                    date_label=date.label if date else "",
                    date_iso=date.iso if date else "",
                ),
            )
    return tuple(docs.values())


def small_docs() -> list[SearchDoc]:
    """Return a handful of documents exercising Unicode, punctuation and dates."""
    return [
        SearchDoc("papers/cafe.html", "Café culture in neural nets", "We study the café effect.",
                  topics=("Culture",), year=2024, date_label="Mar 3, 2024", date_iso="2024-03-03"),
        SearchDoc("papers/mu.html", "μ-Transfer for hyperparameters",
                  "Zero-shot μP tuning (μTransfer).", topics=("Scaling",), year=2023,
                  date_iso="2023-05-01"),
        SearchDoc("papers/poincare.html", "Poincaré embeddings revisited",
                  "Hyperbolic space, again.", topics=("Geometry", "Scaling"), year=2022),
        SearchDoc("papers/emoji.html", "😀 Emoji tokens and naïve models", "Astral 𝔘nicode text.",
                  tags=("unicode",), note="Check the naïve baseline."),
        SearchDoc("papers/prune.html", "Pruning large language models",
                  "We prune (e.g., 50%) weights.", topics=("Pruning",), year=2024,
                  date_iso="2024-01-09"),
    ]  # fmt: skip


def _refs(files: dict[str, bytes], query: str) -> list[str]:
    _, shards = load_payload(files)
    return [r["ref"] for r in search_shards(shards, query)]


def _urls(files: dict[str, bytes], query: str) -> list[str]:
    _, shards = load_payload(files)
    docs = {search.base36(s.start + i): row[1] for s in shards for i, row in enumerate(s.docs)}
    return [docs[r["ref"]] for r in search_shards(shards, query)]


# ---------------------------------------------------------------- determinism


def test_output_is_byte_identical_for_any_input_order() -> None:
    docs = list(corpus_docs())
    first = build_search_files(docs)
    again = build_search_files(list(reversed(docs)))
    assert first == again
    assert sorted(first) == [*search.shard_paths(first), "search/manifest.js"]
    assert re.fullmatch(r"search/index-0\.[0-9a-f]{10}\.js", search.shard_paths(first)[0])


def test_refs_are_short_and_newest_documents_come_first() -> None:
    files = build_search_files(small_docs())
    shard = search.read_script(files[search.shard_paths(files)[0]])
    years = [row[2] for row in shard["docs"]]
    assert years == [2024, 2024, 2023, 2022, None]
    assert [row[1] for row in shard["docs"][:2]] == ["papers/cafe.html", "papers/prune.html"]
    assert "papers/" not in shard["terms"]  # refs in the index are numbers, not slugs


def test_manifest_lists_shards_topics_and_years() -> None:
    manifest = search.read_script(build_search_files(small_docs())["search/manifest.js"])
    assert manifest["n"] == 5
    assert manifest["topics"] == ["Culture", "Geometry", "Pruning", "Scaling"]
    assert manifest["years"] == [2024, 2023, 2022]
    assert [f["name"] for f in manifest["fields"]] == list(search.FIELDS)
    assert re.fullmatch(r"index-0\.[0-9a-f]{10}\.js", manifest["shards"][0]["file"])


# ---------------------------------------------------------------- escaping

HOSTILE = [
    "</script><script>alert(1)</script>",
    "<!-- comment --> & <img src=x onerror=alert(1)>",
    "quote \" and ' and \\ backslash",
    "line\u2028separator\u2029paragraph",
    "lone surrogate \ud800 here",
    "nul \x00 and \x1f controls",
]


@pytest.mark.parametrize("title", HOSTILE)
def test_payload_cannot_break_out_of_its_script(title: str) -> None:
    docs = [SearchDoc("papers/x.html", title, title, topics=(title,), note=title)]
    files = build_search_files(docs)
    for data in files.values():
        text = data.decode("utf-8")
        assert "<" not in text and ">" not in text
        assert "\u2028" not in text and "\u2029" not in text
        assert text.count("\n") == 1 and text.endswith(";\n")
    shard = search.read_script(files[search.shard_paths(files)[0]])
    assert shard["docs"][0][0] == terms.normalize_text(title)
    manifest = search.read_script(files["search/manifest.js"])
    assert manifest["topics"] == [terms.normalize_text(title)]


def test_js_string_literal_round_trips() -> None:
    for text in HOSTILE[:4]:
        assert json.loads(search.js_string_literal(text)) == text


@pytest.mark.parametrize("url", ["javascript:alert(1)", "/etc/passwd", "//evil.example/x", ""])
def test_urls_must_be_relative_paths(url: str) -> None:
    with pytest.raises(ValueError, match="relative path"):
        build_search_files([SearchDoc(url, "t")])


# ---------------------------------------------------------------- Unicode and syntax


@pytest.mark.parametrize(
    ("query", "url"),
    [
        ("café", "papers/cafe.html"),
        ("Café", "papers/cafe.html"),
        ("cafe\u0301", "papers/cafe.html"),  # decomposed input is normalized to NFC
        ("μ-Transfer", "papers/mu.html"),
        ("μtransfer", "papers/mu.html"),
        ("Poincaré", "papers/poincare.html"),
        ("naïve", "papers/emoji.html"),
        ("𝔘nicode", "papers/emoji.html"),
        ("title:prune", "papers/prune.html"),
        ("e.g", "papers/prune.html"),
    ],
)
def test_non_ascii_and_punctuated_words_are_findable(query: str, url: str) -> None:
    assert _urls(build_search_files(small_docs()), query)[0] == url


def test_trimmer_is_unicode_aware() -> None:
    assert terms.trim_word("(café),") == "café"
    assert terms.trim_word("«poincaré»") == "poincaré"
    assert terms.trim_word("(e.g.,") == "e.g"
    assert terms.trim_word("—") == "—"  # nothing left: keep the token as lunr.py does


def test_ascii_text_is_normalized_like_any_other() -> None:
    ascii_chars = "".join(map(chr, range(128)))
    texts = [ascii_chars, ascii_chars[::-1], " \x1c a\x1fb\t\n\v\f\r c  ", "", "   ", "x"]
    for text in texts:
        assert terms.normalize_text(text) == terms.SPACE_RE.sub(" ", text).strip(" ")
        assert terms.normalize_text(text + "\xa0\u2028") == terms.normalize_text(text)


def test_fast_tokenizer_matches_lunr() -> None:
    texts = [terms.normalize_text(d.abstract) for d in corpus_docs()[:80]]
    texts += ["İstanbul\xa0-x-  y\t", "", "---", "a-b c"]
    for text in texts:
        expected = [(str(t), t.metadata["position"][0]) for t in Tokenizer(text)]
        assert search.lunr_tokens(text) == expected


def test_fast_term_pipeline_matches_lunr_pipeline() -> None:
    from lunr.token import Token

    pipeline = search._index_pipeline()
    raws = {raw for d in corpus_docs() for raw, _ in search.lunr_tokens(d.title + " " + d.abstract)}
    raws |= {"(café),", "«poincaré»", "—", "the", "(the)", "and,", "e.g.,", "_x_", "ǅemal", "x²"}
    raws |= {"running", "generalization", "sses", "1,000", "ab", "a", "bert's", "'quoted'"}
    assert len(raws) > 5000
    for raw in sorted(raws):
        out = pipeline.run([Token(raw, {})])
        assert terms.index_term(raw) == (str(out[0]) if out else None), raw


def test_title_matches_rank_first() -> None:
    docs = [
        SearchDoc("papers/a.html", "Other things", "All about pruning, pruning and pruning."),
        SearchDoc("papers/b.html", "Pruning", "Nothing else here."),
    ]
    assert _urls(build_search_files(docs), "pruning") == ["papers/b.html", "papers/a.html"]


@pytest.mark.parametrize(
    "query", ["foo:", "a~", "^", "title:", "+", "-", '"unmatched', "x" * 5000, "+(", "~", "^2"]
)
def test_bad_syntax_never_raises(query: str) -> None:
    assert isinstance(_refs(build_search_files(small_docs()), query), list)


def test_empty_query_finds_nothing() -> None:
    files = build_search_files(small_docs())
    assert _refs(files, "") == [] and _refs(files, "   ") == []


def _by_term(index, vector) -> dict[str, float]:
    names = {posting["_index"]: term for term, posting in index.inverted_index.items()}
    elements = vector.elements
    pairs = [(names[elements[i]], elements[i + 1]) for i in range(0, len(elements), 2)]
    return {term: pytest.approx(value, abs=1.1e-3) for term, value in pairs}


def test_weights_equal_those_of_a_lunr_builder() -> None:
    """Our recomputed field vectors are exactly what lunr.py's own Builder makes."""
    docs = search.order_docs(corpus_docs()[:60])
    builder = Builder()
    builder.pipeline.add(search.survey_trimmer, search.stop_word_filter, search.stemmer)
    builder.search_pipeline.add(search.survey_trimmer, search.stemmer)
    for name in search.FIELDS:
        builder.field(name, boost=search.BOOSTS[name])
    for i, doc in enumerate(docs):
        builder.add({"id": search.base36(i), **search._field_texts(doc)})
    reference = builder.build()
    _, shards = load_payload(build_search_files(docs))
    loaded = shards[0].index
    for key, vector in reference.field_vectors.items():
        assert _by_term(loaded, loaded.field_vectors[key]) == _by_term(reference, vector), key
    for query in ["pruning", "title:network", "diffus*", "+learning -image"]:
        ours = sorted((-round(r["score"], 6), r["ref"]) for r in search_shards(shards, query))
        theirs = sorted((-round(r["score"], 6), r["ref"]) for r in reference.search(query))
        assert ours == theirs


# ---------------------------------------------------------------- highlight positions


def test_positions_cover_title_and_excerpt_only() -> None:
    docs = [SearchDoc("papers/a.html", "Alpha beta", "gamma " * 100 + "delta")]
    files = build_search_files(docs)
    lunr_json = search.unpack_shard(
        search.read_script(files[search.shard_paths(files)[0]]),
        search.read_script(files["search/manifest.js"])["fields"],
    )
    postings = dict(lunr_json["invertedIndex"])
    assert postings["alpha"]["title"]["0"] == {"position": [[0, 5]]}
    gamma = postings["gamma"]["abstract"]["0"]["position"]
    assert gamma[0] == [0, 5] and len(gamma) == search.EXCERPT_CHARS // 6
    assert postings["delta"]["abstract"]["0"] == {}  # beyond the excerpt: no positions


def test_positions_count_code_points_of_the_original_text() -> None:
    title = "😀 İstanbul café"  # an astral char, and a letter whose lowercase is longer
    files = build_search_files([SearchDoc("papers/a.html", title)])
    fields = search.read_script(files["search/manifest.js"])["fields"]
    lunr_json = search.unpack_shard(search.read_script(files[search.shard_paths(files)[0]]), fields)
    postings = dict(lunr_json["invertedIndex"])
    assert postings["café"]["title"]["0"] == {"position": [[11, 4]]}
    assert title[11:15] == "café"


# ---------------------------------------------------------------- sharding


def test_small_shards_give_the_same_results_as_one() -> None:
    docs = list(corpus_docs())
    one = build_search_files(docs)
    many = build_search_files(docs, shard_size=37)
    manifest = search.read_script(many["search/manifest.js"])
    assert len(manifest["shards"]) == -(-len(docs) // 37)
    assert sum(s["n"] for s in manifest["shards"]) == len(docs)
    _, single = load_payload(one)
    _, sharded = load_payload(many)
    for query in ["diffusion", "title:prune", "trans*", "reward~1", "sparse mixture experts",
                  "+diffusion -image", "language model", "-diffusion", "foo:"]:  # fmt: skip
        a = sorted((round(r["score"], 9), r["ref"]) for r in search_shards(single, query))
        b = sorted((round(r["score"], 9), r["ref"]) for r in search_shards(sharded, query))
        assert a == b, query


def test_shards_hold_newest_documents_first() -> None:
    files = build_search_files(small_docs(), shard_size=2)
    manifest = search.read_script(files["search/manifest.js"])
    assert [s["start"] for s in manifest["shards"]] == [0, 2, 4]
    first = search.read_script(files[search.shard_paths(files)[0]])
    assert [row[2] for row in first["docs"]] == [2024, 2024]
    assert "df" in first  # corpus-wide frequencies so scores merge across shards


def test_empty_corpus() -> None:
    files = build_search_files([])
    assert search.read_script(files["search/manifest.js"])["shards"] == []
    assert _refs(files, "anything") == []


# ---------------------------------------------------------------- size budget


def test_payload_fits_the_size_budget() -> None:
    docs = corpus_docs()
    assert len(docs) > 300
    files = build_search_files(docs)
    raw = sum(len(data) for data in files.values())
    zipped = sum(len(gzip.compress(data, 9, mtime=0)) for data in files.values())
    per_raw, per_zip = raw / len(docs), zipped / len(docs)
    print(f"search payload: {per_raw:.0f} B/paper raw, {per_zip:.0f} B/paper gzipped")
    assert per_raw <= 2500
    assert per_zip <= 700


def test_analysis_memo_changes_no_byte() -> None:
    docs = [
        search.SearchDoc(
            f"papers/p{i}.html",
            f"Paper {i} on pruning",
            f"Abstract {i} about sparse nets.",
            year=2000 + i % 7,
        )
        for i in range(120)
    ]
    cold = search.build_search_files(docs, shard_size=25)
    memo = search.SearchMemo()
    assert search.build_search_files(docs, shard_size=25, memo=memo) == cold
    assert memo.added == len(docs) == len(memo.keys)
    assert search.build_search_files(docs[::-1], shard_size=25, memo=memo) == cold
    assert memo.added == len(docs)  # nothing analysed twice
