"""Synthetic corpus: N distinct papers recombined from the shipped digests, written as digests.

The shipped digests give a few hundred real titles and abstracts. From them this module makes
any number of distinct papers that look like the real thing to every stage of the generator:

* titles are the shipped titles perturbed (synonym swaps, prefixes, borrowed subtitles,
  method-name prefixes) until every one is distinct under `generator.slug.title_key`;
* abstracts keep their source paper's opening sentence and its topic-bearing sentences (so the
  topic classifier still assigns papers to topics), add sentences borrowed from other abstracts,
  and sometimes a result sentence with a fresh method name, dataset and number, so the
  vocabulary keeps growing with the corpus as a real one does;
* dates spread over 2015-2025 (weighted to recent years), some year-less (`Feb 27`), some
  missing; author counts and upvotes vary;
* about 10% of papers appear in two or three digests (same title up to punctuation, the
  abstract sometimes revised, upvotes grown);
* digests hold 100-500 papers each, roughly 70% in the spaced layout and 30% in the compact one.

Everything is deterministic for a given seed. Command line:

    python -m bench.corpus --papers 10000 --seed 1 --out DIR [--extra 100]
"""

from __future__ import annotations

import argparse
import calendar
import hashlib
import random
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from generator.digest import _is_chrome, _is_meta, looks_like_abstract, parse_digest
from generator.slug import title_key

REPO = Path(__file__).resolve().parent.parent
SHIPPED_DIGESTS = REPO / "content" / "digests"
TOPICS_FILE = REPO / "content" / "topics.yaml"

SPACED_CHROME = [
    "new",
    "Get trending papers in your email inbox!",
    "Subscribe",
    "Daily Papers",
    "byAK and the research community",
]
COMPACT_CHROME = [
    "Get trending papers in your email inbox once a day!",
    "Get trending papers in your email inbox!",
]
GLUE = "Subscribe"

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'“])")
_SUBTITLE_SPLIT = re.compile(r"\s+(for|via|with|using|through|in|from|without|beyond)\s+")
YEARS = list(range(2015, 2026))
YEAR_WEIGHTS = [1, 1, 2, 2, 3, 4, 5, 6, 8, 10, 12]

SYNONYMS = {
    "Networks": ["Nets", "Architectures", "Models"],
    "Network": ["Net", "Architecture", "Model"],
    "Neural": ["Deep", "Artificial Neural"],
    "Deep": ["Neural", "Very Deep"],
    "Learning": ["Training", "Optimization"],
    "Efficient": ["Fast", "Lightweight", "Cheap", "Frugal"],
    "Scalable": ["Large-Scale", "Distributed"],
    "Large": ["Massive", "Huge"],
    "Image": ["Visual", "Vision"],
    "Models": ["Networks", "Learners"],
    "Model": ["Network", "Learner"],
    "Improving": ["Enhancing", "Boosting", "Strengthening"],
    "Robust": ["Reliable", "Resilient", "Stable"],
    "Method": ["Approach", "Technique"],
    "Approach": ["Method", "Framework"],
    "Framework": ["Approach", "Toolkit"],
    "Training": ["Learning", "Fitting"],
    "Transformers": ["Attention Models", "Vision Transformers"],
    "Transformer": ["Attention Model", "Vision Transformer"],
    "Towards": ["Toward", "On the Road to"],
    "Understanding": ["Explaining", "Characterizing"],
    "Sparse": ["Pruned", "Thin"],
    "Fast": ["Rapid", "Quick", "Efficient"],
    "Novel": ["New", "Simple"],
    "Generative": ["Synthesis", "Diffusion-Based"],
    "Graph": ["Relational", "Structured"],
    "Adaptive": ["Dynamic", "Self-Tuning"],
    "Optimization": ["Search", "Tuning"],
    "Operators": ["Operations", "Layers"],
    "Operator": ["Operation", "Layer"],
}
PREFIXES = [
    "Towards", "Rethinking", "Revisiting", "On", "Understanding", "Beyond", "Scaling",
    "Simplifying", "Accelerating", "Benchmarking", "Analyzing", "Generalizing", "Stabilizing",
    "Learning", "Interpreting", "Compressing", "Regularizing", "Characterizing",
]  # fmt: skip
SUFFIXES = [
    " at Scale", " Revisited", " in the Wild", " for Edge Devices", " under Distribution Shift",
    " with Limited Data", " without Labels", " on a Budget", " for Long Sequences",
    " in Low-Resource Settings", " for Scientific Computing", " with Provable Guarantees",
    " for Continual Learning", " for Federated Learning", " on Graphs", " for Medical Imaging",
    " for Speech Recognition", " in Reinforcement Learning", " for Time Series",
    " with Fewer Parameters", " via Knowledge Distillation", " for Multimodal Data",
]  # fmt: skip
DATASETS = [
    "ImageNet", "CIFAR-10", "CIFAR-100", "COCO", "GLUE", "SuperGLUE", "WikiText-103",
    "Penn Treebank", "LibriSpeech", "ADE20K", "Cityscapes", "MNIST", "SVHN", "Tiny-ImageNet",
    "ogbn-arxiv", "QM9", "Navier-Stokes", "Darcy flow", "Burgers' equation", "ShapeNet",
    "Kinetics-400", "SQuAD", "MS MARCO", "CelebA", "LSUN", "Atari", "MuJoCo", "D4RL",
]  # fmt: skip
METRICS = [
    "top-1 accuracy", "accuracy", "mIoU", "F1 score", "BLEU", "perplexity",
    "relative L2 error", "AUROC", "mean average precision", "return", "FID",
]  # fmt: skip
SYLLABLES = [
    "ne", "ro", "ta", "vi", "lo", "sa", "ki", "mo", "ra", "xe", "zu", "pa", "de", "li",
    "qu", "fo", "gri", "tra", "spa", "flo", "hy", "per", "mor", "cel", "dyn", "lum", "vor",
]  # fmt: skip
RESULT_TEMPLATES = [
    "We call the resulting method {a}.",
    "On {d}, {a} improves {m} by {x}% over the strongest baseline.",
    "{a} matches the {m} of {b} while using {k}x fewer parameters.",
    "Experiments on {d} and {d2} show consistent gains of {x} points in {m}.",
    "{a} trains {k}x faster than {b} on {d} with no loss in {m}.",
    "Code is available at https://github.com/{u}/{r}.",
    "Our implementation and pretrained models are released at https://{u}.github.io/{r}.",
]


@dataclass(frozen=True)
class Paper:
    """One synthetic paper and its metadata (as the spaced layout would show it)."""

    title: str
    abstract: str
    authors: int | None = None
    year: int | None = None
    month: int | None = None  # month and day set together; year may be None (`Feb 27`)
    day: int | None = None
    upvotes: int | None = None

    def meta_lines(self) -> list[str]:
        """Return the spaced layout's metadata block (empty when there is no date)."""
        if self.month is None or self.day is None:
            return []
        date = f"{calendar.month_abbr[self.month]} {self.day}"
        if self.year is not None:
            date += f", {self.year}"
        if self.upvotes is not None:
            date += f" {self.upvotes}"
        return [f"  • {self.authors or 1} authors", "·", date]


@dataclass
class Corpus:
    """Digest files (name, text) and the distinct papers they hold."""

    digests: list[tuple[str, str]]
    papers: list[Paper]
    records: int
    extra: tuple[str, str] | None = None  # a digest of further new papers (incremental runs)
    extra_papers: int = 0

    def write(self, folder: Path) -> list[Path]:
        """Write the digests into a folder; return their paths (the extra one not included)."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, text in self.digests:
            path = folder / name
            path.write_text(text, encoding="utf-8")
            paths.append(path)
        return paths

    def write_extra(self, folder: Path) -> Path:
        """Write the extra digest into a folder and return its path."""
        if self.extra is None:
            raise ValueError("this corpus was generated without an extra digest")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / self.extra[0]
        path.write_text(self.extra[1], encoding="utf-8")
        return path


# ---------------------------------------------------------------- sources


@dataclass(frozen=True)
class _Source:
    title: str
    sentences: tuple[str, ...]
    keep: frozenset[int]  # indexes of topic-bearing sentences (kept when recombining)
    paper: Paper  # the original, with its own metadata


def split_sentences(abstract: str) -> list[str]:
    """Split an abstract into sentences (conservatively: a stop, space, capital)."""
    return [s.strip() for s in _SENTENCE_SPLIT.split(abstract) if s.strip()]


def _topic_regexes() -> list[re.Pattern[str]]:
    """Return the abstract-side evidence regexes of every topic (empty if topics won't load)."""
    try:
        from generator.topics import load_topics

        topics = load_topics(TOPICS_FILE)
    except Exception:  # noqa: BLE001 - the corpus still works without topic-aware sentences
        return []
    return [
        rule.regex
        for topic in topics
        for rule in topic.evidence
        if getattr(rule, "where", "any") != "title"
    ]


def load_sources(digests_dir: Path = SHIPPED_DIGESTS) -> list[_Source]:
    """Parse the shipped digests into distinct source papers (first appearance wins)."""
    regexes = _topic_regexes()
    seen: set[str] = set()
    sources = []
    for path in sorted(digests_dir.glob("*.txt")):
        for rec in parse_digest(path).records:
            key = title_key(rec.title)
            if key in seen:
                continue
            seen.add(key)
            sentences = tuple(split_sentences(rec.abstract))
            keep = frozenset(
                i for i, s in enumerate(sentences) if any(rx.search(s) for rx in regexes)
            )
            date = rec.date
            paper = Paper(
                title=rec.title,
                abstract=rec.abstract,
                authors=rec.authors,
                year=date.year if date else None,
                month=date.month if date else None,
                day=date.day if date else None,
                upvotes=rec.upvotes,
            )
            sources.append(_Source(rec.title, sentences, keep, paper))
    if not sources:
        raise SystemExit(f"no papers found in {digests_dir}/*.txt")
    return sources


def _subtitle_parts(title: str) -> tuple[str, str | None]:
    """Split a title into its head and its subtitle or qualifier (`: ...`, ` for ...`)."""
    if ": " in title:
        head, tail = title.split(": ", 1)
        return head, ": " + tail
    match = _SUBTITLE_SPLIT.search(title)
    if match and match.start() > 0:
        return title[: match.start()], title[match.start() :]
    return title, None


# ---------------------------------------------------------------- generation


class _Maker:
    """Make distinct papers from the sources with one seeded random generator."""

    def __init__(self, sources: Sequence[_Source], rng: random.Random) -> None:
        self.sources = list(sources)
        self.rng = rng
        self.used: set[str] = set()
        self.tails = [t for s in sources if (t := _subtitle_parts(s.title)[1]) and len(t) < 90]
        self.pool = [s for src in sources for s in src.sentences if 20 <= len(s) <= 400]
        self.names: set[str] = set()

    # -- names and numbers

    def acronym(self) -> str:
        """Return a fresh method name such as `SpaRoNet` (new vocabulary for the index)."""
        rng = self.rng
        while True:
            parts = [rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))]
            word = "".join(p.capitalize() if rng.random() < 0.5 else p for p in parts)
            word = word[0].upper() + word[1:]
            if rng.random() < 0.3:
                word += rng.choice(["Net", "Former", "GNN", "-X", "++", "v2", "Flow", "Mix"])
            if word not in self.names:
                self.names.add(word)
                return word

    def _result_sentence(self, name: str) -> str:
        rng = self.rng
        d, d2 = rng.sample(DATASETS, 2)
        return rng.choice(RESULT_TEMPLATES).format(
            a=name,
            b=self.acronym()
            if rng.random() < 0.5
            else rng.choice(["ResNet-50", "ViT-B/16", "BERT"]),
            d=d,
            d2=d2,
            m=rng.choice(METRICS),
            x=f"{rng.uniform(0.3, 12):.1f}",
            k=rng.choice([2, 3, 4, 5, 8, 10]),
            u=name.lower().replace("+", "").replace("-", "") + str(rng.randint(1, 99)),
            r=rng.choice(["code", name.lower().replace("+", "p"), "release", "official"]),
        )

    # -- titles

    def _swap_words(self, title: str) -> str:
        words = title.split(" ")
        for i, word in enumerate(words):
            if word in SYNONYMS and self.rng.random() < 0.5:
                words[i] = self.rng.choice(SYNONYMS[word])
        return " ".join(words)

    def _candidate(self, source: _Source, name: str, effort: int) -> str:
        rng = self.rng
        head, tail = _subtitle_parts(source.title)
        title = self._swap_words(head) if rng.random() < 0.6 else head
        if self.tails and (tail is None or rng.random() < 0.4 + 0.1 * effort):
            tail = rng.choice(self.tails)
        if tail and rng.random() < 0.85:
            title += tail if not tail.startswith(": ") or ": " not in title else tail[1:]
        if rng.random() < 0.2 + 0.1 * effort:
            prefix = rng.choice(PREFIXES)
            first = title.split(" ", 1)[0]
            if first not in {"A", "An", "The", prefix} and not first.endswith(("ing", "?")):
                title = f"{prefix} {title}"
        if rng.random() < 0.15 + 0.1 * effort and ": " not in title:
            title += rng.choice(SUFFIXES)
        if (rng.random() < 0.25 or effort >= 4) and ": " not in title:
            title = f"{name}: {title}"
        return title

    def title(self, source: _Source, name: str) -> str:
        """Return a perturbed title of the source paper, distinct from every earlier one."""
        effort = 0
        while True:
            title = " ".join(self._candidate(source, name, effort).split())
            if self.accept(title):
                return title
            effort += 1
            if effort > 6:
                name = self.acronym()

    def accept(self, title: str) -> bool:
        """Take a title if it is new, reads as a title and cannot be mistaken for chrome."""
        key = title_key(title)
        if not key or key in self.used or len(title) > 250 or not title[:1].isalnum():
            return False
        if looks_like_abstract(title) or _is_meta(title) or _is_chrome(title):
            return False
        self.used.add(key)
        return True

    # -- abstracts

    def abstract(self, source: _Source, name: str) -> str:
        """Recombine: the source's opening and topic sentences plus borrowed ones."""
        rng = self.rng
        own = source.sentences
        keep = sorted({0, *source.keep} & set(range(len(own))))
        kept = [own[i] for i in keep]
        extra_own = [s for i, s in enumerate(own) if i not in keep]
        target = rng.randint(4, 9)
        body = kept + rng.sample(extra_own, min(len(extra_own), rng.randint(0, 2)))
        while len(body) < target:
            body.append(rng.choice(self.pool))
        opening, rest = body[0], body[1:]
        rng.shuffle(rest)
        if rng.random() < 0.6:
            rest.insert(rng.randint(0, len(rest)), self._result_sentence(name))
        sentences = [opening, *dict.fromkeys(rest)]
        while len(sentences) < 3:  # the parser needs two sentence breaks to see prose
            sentences.append(self._result_sentence(name))
        text = " ".join(" ".join(s.split()) for s in sentences)
        return text if looks_like_abstract(text) else text + " " + self._result_sentence(name)

    # -- metadata

    def metadata(self) -> dict:
        """Return authors, date and upvotes: mostly dated, some year-less, some missing."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.22:
            return {}
        month = rng.randint(1, 12)
        year = rng.choices(YEARS, YEAR_WEIGHTS)[0] if roll >= 0.30 else None
        day = rng.randint(1, calendar.monthrange(year or 2001, month)[1])
        upvotes = None
        if rng.random() < 0.45:
            upvotes = min(2000, int(rng.paretovariate(1.1)))
        authors = max(1, min(40, int(rng.lognormvariate(1.4, 0.55))))
        return {"authors": authors, "year": year, "month": month, "day": day, "upvotes": upvotes}

    def paper(self, source: _Source) -> Paper:
        """Return one new distinct paper derived from a source."""
        name = self.acronym()
        title = self.title(source, name)
        return Paper(title=title, abstract=self.abstract(source, name), **self.metadata())

    def original(self, source: _Source) -> Paper | None:
        """Return the source paper itself if its title is still free (and add metadata)."""
        if not self.accept(source.title):
            return None
        paper = source.paper
        if paper.month is None:
            paper = replace(paper, **self.metadata())
        return paper


def make_papers(count: int, seed: int, sources: Sequence[_Source] | None = None) -> list[Paper]:
    """Return `count` papers with distinct title keys: the originals first, then variants."""
    sources = list(sources or load_sources())
    rng = random.Random(f"papers-{seed}")
    maker = _Maker(sources, rng)
    papers: list[Paper] = []
    originals = sources[:]
    rng.shuffle(originals)
    for source in originals[:count]:
        paper = maker.original(source)
        if paper is not None:
            papers.append(paper)
    while len(papers) < count:
        papers.append(maker.paper(rng.choice(sources)))
    return papers


# ---------------------------------------------------------------- digests


def _duplicate(paper: Paper, rng: random.Random) -> Paper:
    """Return the same paper as another digest shows it (title key unchanged)."""
    title = paper.title
    roll = rng.random()
    if roll < 0.15 and ": " in title:
        title = title.replace(": ", " - ", 1)
    elif roll < 0.25:
        title = title.replace("-", " ")
    abstract = paper.abstract
    if rng.random() < 0.15:
        sentences = split_sentences(abstract)
        if len(sentences) > 4:
            del sentences[rng.randrange(1, len(sentences))]
            abstract = " ".join(sentences)
    upvotes = paper.upvotes
    if upvotes is not None:
        upvotes += rng.randint(0, 20)
    return replace(paper, title=title, abstract=abstract, upvotes=upvotes)


def render_spaced(papers: Sequence[Paper], page_date: str) -> str:
    """Return a digest in the spaced layout (chrome and papers separated by blank lines)."""
    lines = [*SPACED_CHROME, page_date]
    blocks = ["\n\n".join(lines)]
    for paper in papers:
        block = f"{paper.title}\n\n{paper.abstract}"
        meta = paper.meta_lines()
        if meta:
            block += "\n\n" + "\n".join(meta)
        blocks.append(block)
    return "\n\n".join(blocks) + "\n"


def render_compact(papers: Sequence[Paper]) -> str:
    """Return a digest in the compact layout (first title glued to `Subscribe`, no metadata)."""
    lines = list(COMPACT_CHROME)
    for index, paper in enumerate(papers):
        lines.append(GLUE + paper.title if index == 0 else paper.title)
        lines.append(paper.abstract)
    return "\n".join(lines) + "\n"


def _page_date(rng: random.Random) -> str:
    month = rng.randint(1, 12)
    return f"{calendar.month_abbr[month]} {rng.randint(1, 28)}"


def _digest_name(seed: int, index: int, tag: str = "") -> str:
    digest = hashlib.sha256(f"{seed}-{index}-{tag}".encode()).hexdigest()[:16]
    return f"{index:04d}_{digest}.txt" if not tag else f"{tag}_{digest}.txt"


def _render(papers: list[Paper], rng: random.Random, compact: bool) -> str:
    if compact:
        first = next((i for i, p in enumerate(papers) if p.title[:1].isupper()), None)
        if first is None:  # the glue needs an upper-case first letter
            compact = False
        else:
            papers.insert(0, papers.pop(first))
    return render_compact(papers) if compact else render_spaced(papers, _page_date(rng))


def generate(
    papers: int,
    seed: int = 1,
    *,
    extra: int = 0,
    duplicate_rate: float = 0.10,
    compact_rate: float = 0.30,
    digest_size: tuple[int, int] = (100, 500),
    sources: Sequence[_Source] | None = None,
) -> Corpus:
    """Make a corpus of `papers` distinct papers in digests, plus an optional extra digest."""
    if papers < 1:
        raise ValueError("a corpus needs at least one paper")
    everything = make_papers(papers + extra, seed, sources)
    main, held = everything[:papers], everything[papers:]
    rng = random.Random(f"digests-{seed}")
    lo, hi = digest_size
    groups: list[list[Paper]] = []
    homes: list[int] = []  # the digest each paper first appears in
    at = 0
    while at < len(main):
        size = rng.randint(lo, hi)
        groups.append(main[at : at + size])
        homes.extend([len(groups) - 1] * len(groups[-1]))
        at += size
    records = len(main)
    if len(groups) > 1:
        for index, paper in enumerate(main):
            if rng.random() >= duplicate_rate:
                continue
            others = [g for g in range(len(groups)) if g != homes[index]]
            for g in rng.sample(others, min(len(others), rng.choice([1, 1, 1, 2]))):
                groups[g].insert(rng.randint(0, len(groups[g])), _duplicate(paper, rng))
                records += 1
    digests = []
    for index, group in enumerate(groups):
        compact = rng.random() < compact_rate
        digests.append((_digest_name(seed, index), _render(group, rng, compact)))
    extra_digest = None
    if held:
        extra_digest = (_digest_name(seed, len(groups), "extra"), _render(held, rng, False))
    return Corpus(digests, main, records, extra_digest, len(held))


def verify(folder: Path, expected: Corpus) -> None:
    """Parse the written digests back and check every paper survived (raises on mismatch)."""
    keys = set()
    records = 0
    for name, _ in expected.digests:
        digest = parse_digest(folder / name)
        records += len(digest.records)
        keys.update(title_key(r.title) for r in digest.records)
    want = {title_key(p.title) for p in expected.papers}
    if keys != want or records != expected.records:
        raise AssertionError(
            f"corpus does not parse back: {len(keys)} distinct papers and {records} records "
            f"read, {len(want)} and {expected.records} written"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Write a synthetic corpus of digests to a folder."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.corpus", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--papers", type=int, default=1000, help="distinct papers (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write digests into")
    parser.add_argument("--extra", type=int, default=0, help="also write a digest of N more papers")
    parser.add_argument("--duplicates", type=float, default=0.10, help="share of papers repeated")
    parser.add_argument("--no-verify", action="store_true", help="skip parsing the digests back")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    corpus = generate(args.papers, args.seed, extra=args.extra, duplicate_rate=args.duplicates)
    corpus.write(args.out)
    if corpus.extra is not None:
        corpus.write_extra(args.out / "extra")
    if not args.no_verify:
        verify(args.out, corpus)
    print(
        f"wrote {len(corpus.digests)} digests ({len(corpus.papers)} papers, {corpus.records} "
        f"records) to {args.out} in {time.perf_counter() - started:.1f} s"
        + (
            f"; extra digest of {corpus.extra_papers} papers in {args.out / 'extra'}"
            if corpus.extra
            else ""
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
