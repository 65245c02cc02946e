"""Build the client-side search payload: sharded lunr indexes plus a compact results store.

Each shard is one self-contained lunr index over a range of documents (newest first). The
payload is not lunr's own serialization but a compact encoding of it (see `SHARD FORMAT`
below); `unpack_shard` here and `unpackShard` in `site_src/js/search.js` expand it into the
exact structure `lunr.Index.load` expects, so lunr.py and lunr.js load identical indexes.

SHARD FORMAT (JSON, key `v` = FORMAT):
  start, n     global number of the shard's first document, document count; the ref of
               document i is base36(start + i)
  N, avg       corpus-wide document count and mean field lengths (so scores from different
               shards are comparable and merge by score)
  len          field lengths in terms, document-major: len[i * F + f]
  terms        the shard's terms, sorted by UTF-16 code units, joined by spaces
  df           corpus-wide document frequency per term; absent when the shard is the corpus
  post[f]      flat ints per field: for each term with postings, term delta (from -1), count,
               then per posting the document delta (from -1), negated when followed by tf > 1
  pos[f]       flat ints per field with highlight positions (title, abstract): for each
               posting that keeps positions, posting delta (from -1), count k, then k start
               offsets (code points, delta-coded); lengths are re-read from the stored text
  docs         results store: [title, url, year or null, topic numbers, excerpt, date label]

Field-vector weights are not stored: both unpackers recompute lunr's BM25 weight from tf,
field length, corpus stats and boost with the same float operations, then round like lunr.

FILES: `search/manifest.js` and `search/index-<n>.js`, each a single line
  (window.SurveySearchData=window.SurveySearchData||{})["manifest" | "s<n>"]="<JSON text>";
so they load with <script src> from file:// too; `<`, `>`, `&`, U+2028 and U+2029 in the
string literal are \\u escapes. The manifest is {v, n, fields: [{name, boost}], topics,
years, shards: [{file, start, n, bytes, hash}]}, shards newest first.

MERGING: with several shards loaded, `search_shards` (and searchShards in JS) rescore each
result with the union of the shards' query vectors, which gives exactly the score a single
index over all those documents would give; results are then merged by score.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import lunr
import numpy as np
from lunr.index import Index
from lunr.pipeline import Pipeline
from lunr.query import Query, QueryPresence
from lunr.query_parser import QueryParser
from lunr.stop_word_filter import stop_word_filter
from lunr.token import Token
from lunr.token_set import TokenSet
from lunr.tokenizer import Tokenizer

from . import cache
from .search_postings import (
    AnalyzedDoc,
    DocTable,
    FieldRows,
    FieldTerms,
    Vocabulary,
    document_frequencies,
    encode_field,
    shard_terms,
)
from .searchdoc import SearchDoc
from .stemmer import STEMMER, stem
from .terms import SEPARATORS, TOKEN_RE, index_terms, normalize_text, trim_word

FORMAT = 1
LUNR_VERSION = "2.3.9"
FIELDS = ("title", "abstract", "topics", "tags", "note")
BOOSTS = {"title": 10, "abstract": 1, "topics": 3, "tags": 3, "note": 2}
POSITION_FIELDS = ("title", "abstract")
EXCERPT_CHARS = 200
MAX_QUERY_CHARS = 256
MAX_EDIT_DISTANCE = 2
DEFAULT_SHARD_SIZE = 2000
K1 = 1.2
B = 0.75
TRIMMER_NAME = "surveyTrimmer"
DATA_GLOBAL = "SurveySearchData"

_EDIT_RE = re.compile("~([0-9]+)")
_STARS_RE = re.compile(r"\*{2,}")
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_JS_UNSAFE = tuple((c, f"\\u{ord(c):04x}") for c in "<>&\u2028\u2029")


# ---------------------------------------------------------------- text and pipeline


@lru_cache(maxsize=1024)
def _label(text: str) -> str:
    """Return a normalized topic label (few distinct values, met once per document)."""
    return normalize_text(text)


def survey_trimmer(token: Token, i: int | None = None, tokens: list | None = None) -> Token:
    """Unicode-aware lunr trimmer, registered under the same name in lunr.js."""
    return token.update(lambda text, metadata: trim_word(text))


Pipeline.register_function(survey_trimmer, TRIMMER_NAME)


def stemmer(token: Token, i: int | None = None, tokens: list | None = None) -> Token:
    """lunr.js's stemmer (generator/stemmer.py) as a lunr.py pipeline function."""
    return token.update(lambda text, metadata: stem(text))


# Loaded indexes look their pipeline up by name: "stemmer" must be lunr.js's stemmer here
# too, not lunr.py's own, which stems some words differently (see generator/stemmer.py).
stemmer.label = "stemmer"  # type: ignore[attr-defined]
Pipeline.registered_functions["stemmer"] = stemmer


def search_pipeline() -> Pipeline:
    """Return the query-time pipeline serialized into every shard."""
    pipeline = Pipeline()
    pipeline.add(survey_trimmer, stemmer)
    return pipeline


def _index_pipeline() -> Pipeline:
    pipeline = Pipeline()
    pipeline.add(survey_trimmer, stop_word_filter, stemmer)
    return pipeline


def _lower_offsets(text: str, lowered: str) -> list[int] | None:
    """Map offsets in `lowered` (`text.lower()`) back to `text`, or None if lengths agree."""
    if len(lowered) == len(text):
        return None
    mapping: list[int] = []
    for index, char in enumerate(text):
        mapping.extend([index] * len(char.lower()))
    mapping.append(len(text))
    return mapping


def analyze(text: str, positions_until: int = -1) -> FieldTerms:
    """Count a normalized field's terms; keep start offsets (code points) up to an offset."""
    lowered = text.lower()
    terms = index_terms(lowered)
    tf = Counter(terms)
    length = len(terms) - tf.pop(None, 0)
    starts = _starts(text, lowered, terms, positions_until) if positions_until >= 0 else {}
    return FieldTerms(length, tf, starts)


def _starts(text: str, lowered: str, terms: list[str | None], until: int) -> dict[str, list[int]]:
    """Return the start offsets in `text` of the tokens starting up to `until`, by term."""
    offsets = _lower_offsets(text, lowered)
    if offsets is None:  # the common case: offsets agree, the text can be cut at `until`
        found = [match.start() for match in TOKEN_RE.finditer(lowered, 0, until + 1)]
    else:
        found = [offsets[match.start()] for match in TOKEN_RE.finditer(lowered)]
        found = found[: bisect_right(found, until)]
    starts: dict[str, list[int]] = defaultdict(list)
    for term, start in zip(terms, found, strict=False):  # `found`: the first tokens'
        if term is not None:
            starts[term].append(start)
    return dict(starts)


def lunr_tokens(text: str) -> list[tuple[str, int]]:
    """Return (token, start) pairs exactly as lunr.py's Tokenizer would."""
    return [(m[0], m.start()) for m in TOKEN_RE.finditer(text.lower())]


def token_end(text: str, start: int) -> int:
    """Return where the token starting at `start` ends (next separator or end of text)."""
    end = start
    while end < len(text) and text[end] not in SEPARATORS:
        end += 1
    return end


def make_excerpt(abstract: str) -> tuple[str, int]:
    """Cut the abstract at a space near EXCERPT_CHARS; return it and the kept length."""
    if len(abstract) <= EXCERPT_CHARS:
        return abstract, len(abstract)
    cut = abstract.rfind(" ", 0, EXCERPT_CHARS + 1)
    cut = cut if cut > 0 else EXCERPT_CHARS
    return abstract[:cut] + " \u2026", cut


# ---------------------------------------------------------------- small helpers


def base36(number: int) -> str:
    """Return `number` in base 36, like JavaScript's `number.toString(36)`."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def _utf16_key(text: str) -> bytes:
    return text.encode("utf-16-be", "surrogatepass")


def _js_round(value: float) -> float:
    """Round to 3 decimals exactly as `roundWeight` in search.js does."""
    scaled = value * 1000
    floor = math.floor(scaled)
    return (floor + 1 if scaled - floor >= 0.5 else floor) / 1000


def idf(df: int, total: int) -> float:
    """Return lunr's inverse document frequency."""
    return math.log(1 + abs((total - df + 0.5) / (df + 0.5)))


def weight(idf_value: float, tf: int, length: int, avg: float, boost: int) -> float:
    """Return lunr's field-vector weight for one term in one field of one document."""
    score = idf_value * ((K1 + 1) * tf) / (K1 * (1 - B + B * (length / avg)) + tf)
    return _js_round(score * boost)


def delta_encode(values: Iterable[int], previous: int = -1) -> list[int]:
    """Return successive differences, starting from `previous`."""
    out = []
    for value in values:
        out.append(value - previous)
        previous = value
    return out


def js_key_order(keys: Sequence[str]) -> list[str]:
    """Order keys as a JavaScript object inserted in this order enumerates them."""

    def is_index(key: str) -> bool:
        return key.isascii() and key.isdigit() and (key == "0" or key[0] != "0")

    numeric = sorted((k for k in keys if is_index(k) and int(k) < 2**32 - 1), key=int)
    seen = set(numeric)
    return numeric + [k for k in keys if k not in seen]


def js_string_literal(text: str) -> str:
    """Return a JS string literal that cannot end a script element or break a line."""
    literal = json.dumps(text, ensure_ascii=False)
    for char, escape in _JS_UNSAFE:  # str.replace is far faster than translate on big text
        literal = literal.replace(char, escape)
    return literal


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _script(key: str, value: Any) -> bytes:
    """Return a payload script that stores a JSON string under window.SurveySearchData."""
    target = f"(window.{DATA_GLOBAL}=window.{DATA_GLOBAL}||{{}})"
    body = f"{target}[{json.dumps(key)}]={js_string_literal(_dumps(value))};\n"
    return body.encode("utf-8")


# ---------------------------------------------------------------- building


def check_url(url: str) -> None:
    """Reject urls that are not relative paths inside the site."""
    if not url or _SCHEME_RE.match(url) or url.startswith(("/", "\\")) or "\n" in url:
        raise ValueError(f"search result url must be a relative path: {url!r}")


def order_docs(docs: Iterable[SearchDoc]) -> list[SearchDoc]:
    """Sort newest first (year, then ISO date), ties by url; refs follow this order."""
    by_url = sorted(docs, key=lambda d: (d.url, d.title, d.abstract))
    return sorted(by_url, key=lambda d: (d.year or 0, d.date_iso), reverse=True)


def _field_texts(doc: SearchDoc) -> dict[str, str]:
    return {
        "title": normalize_text(doc.title),
        "abstract": normalize_text(doc.abstract),
        "topics": normalize_text(" ; ".join(doc.topics)),
        "tags": normalize_text(" ; ".join(doc.tags)),
        "note": normalize_text(doc.note),
    }


# Everything besides a document's own text that its analysis depends on.
_ANALYSIS = cache.content_key(
    FORMAT, FIELDS, BOOSTS, POSITION_FIELDS, EXCERPT_CHARS, lunr.__VERSION__, STEMMER
).encode()


@lru_cache(maxsize=1 << 17)
def analysis_key(doc: SearchDoc) -> str:
    """Return the key of a document's analysis: its indexed fields and the pipeline."""
    digest = hashlib.sha256(_ANALYSIS)
    for part in (doc.title, doc.abstract, doc.note, str(len(doc.topics)), *doc.topics, *doc.tags):
        data = part.encode("utf-8", "surrogatepass")
        digest.update(b"%d:%b" % (len(data), data))  # length-prefixed: parts never run together
    return digest.hexdigest()


def analyze_doc(doc: SearchDoc) -> AnalyzedDoc:
    """Analyse a document's fields.

    The abstract ships the starts of the tokens starting up to the excerpt's end: all of
    them lie inside the excerpt, which is cut before a space or ends in " ...".
    """
    texts = _field_texts(doc)
    excerpt, excerpt_end = make_excerpt(texts["abstract"])
    until = {"title": len(texts["title"]), "abstract": excerpt_end}
    fields = tuple(analyze(texts[name], until.get(name, -1)) for name in FIELDS)
    return AnalyzedDoc(texts["title"], excerpt, fields)


@dataclass
class SearchMemo:
    """Analysed documents (`table`, with their `keys`) and the vocabulary of their term ids.

    A caller keeps it between builds (in memory or through `search_cache`); a build adds the
    documents it had to analyse and records which table rows it used, in refs order.
    """

    vocab: Vocabulary = dataclasses.field(default_factory=Vocabulary)
    keys: list[str] = dataclasses.field(default_factory=list)
    table: DocTable = dataclasses.field(default_factory=lambda: _tabulate([], Vocabulary()))
    used: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    added: int = 0
    live_terms: int = 0  # vocabulary terms the documents of the last build use

    def table_for(self, docs: Sequence[SearchDoc]) -> DocTable:
        """Return the analysed documents in this order, analysing the new ones."""
        index = {key: i for i, key in enumerate(self.keys)}
        keys = [analysis_key(doc) for doc in docs]
        new = {key: doc for key, doc in zip(keys, docs, strict=True) if key not in index}
        if new:
            added = _tabulate([analyze_doc(doc) for doc in new.values()], self.vocab)
            index.update((key, len(self.keys) + i) for i, key in enumerate(new))
            self.keys, self.table = self.keys + list(new), self.table.concat(added)
            self.added += len(new)
        self.used = np.array([index[key] for key in keys], dtype=np.int64)
        return self.table.take(self.used)


def related_by_terms(
    docs: Sequence[SearchDoc], slugs: Sequence[str], k: int, memo: SearchMemo
) -> dict[str, tuple[str, ...]]:
    """Rank related papers on the index terms of the documents' titles and abstracts.

    The documents are analysed as the index analyses them (into `memo`, where building the
    payload finds them): the result equals `related_papers` on "title\nabstract" texts.
    """
    from .related import related_from_counts

    order = sorted(range(len(docs)), key=slugs.__getitem__)
    table = memo.table_for([docs[i] for i in order])
    fields = [table.fields[FIELDS.index(name)] for name in ("title", "abstract")]
    return related_from_counts(
        [slugs[i] for i in order],
        memo.vocab.terms,
        [(field.first_row, field.ids, field.tf) for field in fields],
        k,
    )


def _tabulate(docs: Sequence[AnalyzedDoc], vocab: Vocabulary) -> DocTable:
    """Tabulate analysed documents, with the fields of this index."""
    return DocTable.of(docs, vocab, len(FIELDS))


@dataclass(frozen=True)
class _Corpus:
    """Corpus-wide statistics and the field tables every shard is cut from."""

    table: DocTable  # the documents in refs order
    avg: list[float]  # mean field lengths
    terms: list[str]  # every term, in shipped order (by rank)
    df: np.ndarray  # document frequency by term rank
    fields: list[FieldRows]

    @classmethod
    def of(cls, table: DocTable, vocab: Vocabulary) -> _Corpus:
        """Gather the statistics and field tables of the documents."""
        total = len(table)
        sums = table.lengths.sum(axis=0).tolist() if total else [0] * len(FIELDS)
        rank, terms = vocab.ranks(_utf16_key)
        fields = [FieldRows.of(columns, rank) for columns in table.fields]
        df = document_frequencies(fields, len(terms))
        return cls(table, [s / total if total else 0 for s in sums], terms, df, fields)


def _store_row(doc: SearchDoc, title: str, excerpt: str, topic_ids: dict[str, int]) -> list:
    topics = sorted({topic_ids[t] for t in map(_label, doc.topics) if t})
    return [title, doc.url, doc.year, topics, excerpt, doc.date_label]


def _shard_payload(
    docs: Sequence[SearchDoc], start: int, corpus: _Corpus, topic_ids: dict[str, int]
) -> dict[str, Any]:
    """Return the compact JSON value of the shard of `docs`, the documents from `start`."""
    stop, table, total = start + len(docs), corpus.table, len(corpus.table)
    ranks = shard_terms(corpus.fields, start, stop, len(corpus.terms))
    local = np.zeros(len(corpus.terms), dtype=np.int64)
    local[ranks] = np.arange(len(ranks))
    streams = [encode_field(rows, start, stop, local) for rows in corpus.fields]
    shown = zip(docs, table.titles[start:stop], table.excerpts[start:stop], strict=True)
    payload: dict[str, Any] = {
        "v": FORMAT,
        "start": start,
        "n": len(docs),
        "N": total,
        "avg": corpus.avg,
        "len": table.lengths[start:stop].ravel().tolist(),
        "terms": " ".join(map(corpus.terms.__getitem__, ranks.tolist())),
        "post": [post for post, _ in streams],
        "pos": [pos for _, pos in streams],
        "docs": [_store_row(doc, title, excerpt, topic_ids) for doc, title, excerpt in shown],
    }
    if len(docs) != total:
        payload["df"] = corpus.df[ranks].tolist()
    return payload


def _topic_list(docs: Sequence[SearchDoc]) -> list[str]:
    topics = {_label(t) for doc in docs for t in doc.topics} - {""}
    return sorted(topics, key=lambda t: (t.casefold(), t))


def _manifest(docs: Sequence[SearchDoc], topics: list[str], shards: list[dict]) -> dict:
    years = sorted({d.year for d in docs if d.year is not None}, reverse=True)
    fields = [{"name": name, "boost": BOOSTS[name]} for name in FIELDS]
    return dict(v=FORMAT, n=len(docs), fields=fields, topics=topics, years=years, shards=shards)


def build_search_files(
    docs: Sequence[SearchDoc],
    *,
    shard_size: int = DEFAULT_SHARD_SIZE,
    memo: SearchMemo | None = None,
) -> dict[str, bytes]:
    """Return the search payload files keyed by path relative to the site root.

    `memo` holds documents analysed by earlier builds (see `SearchMemo`); it changes which
    documents are analysed again, never a byte of the output.
    """
    if shard_size < 1:
        raise ValueError("shard_size must be at least 1")
    for doc in docs:
        check_url(doc.url)
    memo = memo if memo is not None else SearchMemo()
    ordered = order_docs(docs)
    corpus = _Corpus.of(memo.table_for(ordered), memo.vocab)
    memo.live_terms = int(np.count_nonzero(corpus.df))
    topics = _topic_list(ordered)
    topic_ids = {topic: i for i, topic in enumerate(topics)}
    files: dict[str, bytes] = {}
    shards = []
    for number, start in enumerate(range(0, len(ordered), shard_size)):
        shard = ordered[start : start + shard_size]
        data = _script(f"s{number}", _shard_payload(shard, start, corpus, topic_ids))
        digest = hashlib.sha256(data).hexdigest()[:12]
        name = f"index-{number}.{digest[:10]}.js"  # content-named: cacheable forever
        files[f"search/{name}"] = data
        shards.append(dict(file=name, start=start, n=len(shard), bytes=len(data), hash=digest))
    files["search/manifest.js"] = _script("manifest", _manifest(ordered, topics, shards))
    return files


# ---------------------------------------------------------------- loading (mirrors search.js)


def shard_paths(files: dict[str, bytes]) -> list[str]:
    """Return the payload's shard file paths in shard order, as the manifest lists them."""
    manifest = read_script(files["search/manifest.js"])
    return [f"search/{shard['file']}" for shard in manifest["shards"]]


def read_script(data: bytes) -> Any:
    """Return the JSON value stored by one payload script."""
    text = data.decode("utf-8")
    literal = text[text.index("]=") + 2 : text.rindex(";")]
    return json.loads(json.loads(literal))


def _decode_positions(stream: list[int]) -> dict[int, list[int]]:
    """Return posting number -> start offsets from one position stream."""
    out: dict[int, list[int]] = {}
    at, entry = 0, -1
    while at < len(stream):
        entry += stream[at]
        count = stream[at + 1]
        starts, previous = [], 0
        for delta in stream[at + 2 : at + 2 + count]:
            previous += delta
            starts.append(previous)
        out[entry] = starts
        at += 2 + count
    return out


def _decode_postings(stream: list[int]) -> list[tuple[int, int, int]]:
    """Return (term number, document number, tf) triples from one posting stream."""
    out = []
    at, term = 0, -1
    while at < len(stream):
        term += stream[at]
        count, at, doc = stream[at + 1], at + 2, -1
        for _ in range(count):
            delta, tf = stream[at], 1
            if delta < 0:
                delta, tf = -delta, stream[at + 1]
                at += 1
            doc += delta
            out.append((term, doc, tf))
            at += 1
    return out


def _metadata(text: str, starts: list[int] | None) -> dict[str, Any]:
    if not starts:
        return {}
    return {"position": [[s, token_end(text, s) - s] for s in starts]}


def unpack_shard(shard: dict[str, Any], fields: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Expand a compact shard into lunr's serialized index (as `lunr.Index.load` takes it)."""
    names = [field["name"] for field in fields]
    terms = shard["terms"].split(" ") if shard["terms"] else []
    refs = [base36(shard["start"] + i) for i in range(shard["n"])]
    decoded = [_decode_postings(stream) for stream in shard["post"]]
    df = shard.get("df") or _local_df(decoded, len(terms))
    idfs = [idf(count, shard["N"]) for count in df]
    postings = [{"_index": t, **{name: {} for name in names}} for t in range(len(terms))]
    vectors: list[list[list[float]]] = [[[] for _ in names] for _ in refs]
    for f, field in enumerate(fields):
        positions = _decode_positions(shard["pos"][f])
        text_at = {"title": 0, "abstract": 4}.get(field["name"])
        for entry, (t, i, tf) in enumerate(decoded[f]):
            text = shard["docs"][i][text_at] if text_at is not None else ""
            postings[t][field["name"]][refs[i]] = _metadata(text, positions.get(entry))
            length = shard["len"][i * len(names) + f]
            w = weight(idfs[t], tf, length, shard["avg"][f], field["boost"])
            vectors[i][f] += [t, w]
    return _lunr_json(names, refs, terms, postings, vectors)


def _local_df(decoded: list[list[tuple[int, int, int]]], count: int) -> list[int]:
    df = [0] * count
    for stream in decoded:
        for t, _, _ in stream:
            df[t] += 1
    return df


def _lunr_json(
    names: list[str],
    refs: list[str],
    terms: list[str],
    postings: list[dict[str, Any]],
    vectors: list[list[list[float]]],
) -> dict[str, Any]:
    for posting in postings:  # enumerate like a JS object would, for equal tie order
        for name in names:
            posting[name] = {ref: posting[name][ref] for ref in js_key_order(list(posting[name]))}
    order = sorted(range(len(terms)), key=terms.__getitem__)  # Python's TokenSet wants this
    return {
        "version": LUNR_VERSION,
        "fields": names,
        "fieldVectors": [
            [f"{name}/{ref}", vectors[i][f]]
            for i, ref in enumerate(refs)
            for f, name in enumerate(names)
        ],
        "invertedIndex": [[terms[t], postings[t]] for t in order],
        "pipeline": search_pipeline().serialize(),
    }


@dataclass(frozen=True)
class LoadedShard:
    """A shard loaded into lunr.py, with its results store."""

    index: Index
    docs: list[list[Any]]
    start: int


def load_payload(files: dict[str, bytes]) -> tuple[dict[str, Any], list[LoadedShard]]:
    """Load the manifest and every shard of a payload into lunr.py."""
    manifest = read_script(files["search/manifest.js"])
    shards = []
    for entry in manifest["shards"]:
        shard = read_script(files[f"search/{entry['file']}"])
        index = Index.load(unpack_shard(shard, manifest["fields"]))
        shards.append(LoadedShard(index=index, docs=shard["docs"], start=shard["start"]))
    return manifest, shards


def prepare_query(query: str) -> str:
    """Normalize a query and defuse what would make lunr slow (length, edit distance)."""
    text = _STARS_RE.sub("*", normalize_text(query)[:MAX_QUERY_CHARS])
    return _EDIT_RE.sub(lambda m: f"~{min(int(m[1]), MAX_EDIT_DISTANCE)}", text)


def _make_query(index: Index, text: str, plain: bool) -> Query:
    """Parse `text` as lunr syntax, or (plain) add each token as a bare term."""
    query = index.create_query()
    if not plain:
        return QueryParser(text, query).parse()
    for token in Tokenizer(text):
        query.term(str(token))
    return query


def _query_weights(index: Index, query: Query) -> list[dict[str, float]]:
    """Return lunr's per-field query vectors for this index, keyed by term."""
    weights: list[dict[str, float]] = [{} for _ in index.fields]
    for clause in query.clauses:
        if clause.presence == QueryPresence.PROHIBITED:
            continue
        terms = index.pipeline.run_string(clause.term) if clause.use_pipeline else [clause.term]
        for term in terms:
            clause.term = term
            for expanded in index.token_set.intersect(TokenSet.from_clause(clause)).to_list():
                for f, field in enumerate(index.fields):
                    if field in clause.fields:
                        weights[f][expanded] = weights[f].get(expanded, 0) + clause.boost
    return weights


def _field_dot(index: Index, ref: str, field: str, weights: dict[str, float]) -> float:
    """Return the dot product of a query vector with one document field's vector."""
    wanted = {index.inverted_index[term]["_index"]: boost for term, boost in weights.items()}
    elements = index.field_vectors[f"{field}/{ref}"].elements
    dot = 0.0
    for at in range(0, len(elements), 2):
        if elements[at] in wanted:
            dot += wanted[elements[at]] * elements[at + 1]
    return dot


def _rescore(shards: Sequence[LoadedShard], text: str, plain: bool, found: list[list]) -> None:
    """Give results of several shards the score one index over all of them would give."""
    per_shard = [_query_weights(s.index, _make_query(s.index, text, plain)) for s in shards]
    union: list[dict[str, float]] = [{} for _ in per_shard[0]] if per_shard else []
    for weights in per_shard:
        for f, field_weights in enumerate(weights):
            union[f].update(field_weights)
    norms = [math.sqrt(sum(field[t] * field[t] for t in sorted(field))) for field in union]
    for shard, weights, results in zip(shards, per_shard, found, strict=True):
        for result in results:
            score = 0.0
            for f, field in enumerate(shard.index.fields):
                if norms[f]:
                    dot = _field_dot(shard.index, result["ref"], field, weights[f])
                    score += dot / norms[f]
            result["score"] = score


def _run(shards: Sequence[LoadedShard], text: str, plain: bool) -> list[list[dict]]:
    return [s.index.query(_make_query(s.index, text, plain)) for s in shards]


def search_shards(shards: Sequence[LoadedShard], query: str) -> list[dict[str, Any]]:
    """Return merged lunr results, best first; fall back to plain terms on bad syntax."""
    text = prepare_query(query)
    plain = False
    if not text:
        return []
    try:
        found = _run(shards, text, plain)
    except Exception:  # lunr raises QueryParseError and, for some inputs, KeyError
        plain = True
        found = _run(shards, text, plain) if Tokenizer(text) else []
    if len(shards) > 1 and found:
        _rescore(shards, text, plain, found)
    merged = [result for results in found for result in results]
    return sorted(merged, key=lambda result: result["score"], reverse=True)


def search_python(files: dict[str, bytes], query: str, limit: int = 10) -> list[str]:
    """Load the payload in lunr.py and return the refs of the top `limit` results."""
    _, shards = load_payload(files)
    return [result["ref"] for result in search_shards(shards, query)[:limit]]
