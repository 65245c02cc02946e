"""Render stage: the Jinja environment and the list of pages a Site becomes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import jinja2.bccache
from markupsafe import Markup

from .charts import papers_per_year_chart

if TYPE_CHECKING:  # a helper process compiles templates without importing the site model
    from .config import Config
    from .site import Paper, Site, TopicPage

SORTS = {
    "date": ("Newest", lambda p: p.newest_key),
    "upvotes": ("Most upvoted", lambda p: (-(p.upvotes or -1), p.newest_key)),
    "title": ("Title", lambda p: (p.title.casefold(), p.slug)),
}


@dataclass(frozen=True)
class PageSpec:
    """One HTML page to write: where, with which template and context."""

    path: str
    template: str
    context: Mapping[str, Any] = field(default_factory=dict)

    @property
    def root(self) -> str:
        """Return the relative path from this page back to the site root."""
        return "../" * self.path.count("/")


def make_environment(
    templates_dir: Path, compiled: Mapping[str, bytes] | None = None
) -> jinja2.Environment:
    """Create the Jinja environment: autoescape on for every template, strict undefined.

    One environment serves one build, so templates are not checked for changes on disk
    (which costs a `stat` each time a page or list item looks its template up). `compiled`
    is template code from `precompile`, used where its source checksum still matches.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
        optimized=False,  # Jinja's constant folding: compiles 13% faster, same output
        bytecode_cache=_Compiled(compiled) if compiled is not None else None,
    )
    env.filters["year_label"] = lambda year: "Year unknown" if year is None else str(year)
    env.filters["plural"] = lambda n, word: f"{n} {word}{'' if n == 1 else 's'}"
    env.globals["list_items"] = _ListItems(env)
    return env


class _Compiled(jinja2.BytecodeCache):
    """Template code held in memory, keyed by Jinja's bucket key (template name and path)."""

    def __init__(self, codes: Mapping[str, bytes]) -> None:
        self.codes = dict(codes)

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Fill the bucket with known code; Jinja drops it if the source checksum differs."""
        if bucket.key in self.codes:
            bucket.bytecode_from_string(self.codes[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Keep the code Jinja just compiled."""
        self.codes[bucket.key] = bucket.bytecode_to_string()


def template_names(templates_dir: Path) -> list[str]:
    """Return every template's name, sorted."""
    return sorted(p.relative_to(templates_dir).as_posix() for p in templates_dir.rglob("*.html"))


def precompile(templates_dir: Path) -> dict[str, bytes]:
    """Compile every template to code another process's `make_environment` can use.

    Templates that fail to compile are left out: the build compiles them again and reports
    the error with its file and line.
    """
    env = make_environment(templates_dir, {})
    for name in template_names(templates_dir):
        try:
            env.get_template(name)
        except jinja2.TemplateError:
            continue
    assert isinstance(env.bytecode_cache, _Compiled)
    return env.bytecode_cache.codes


class _ListItems:
    """Render a paper list's items, each once per (paper, page depth, anchor), joined.

    The same paper appears in many lists (every sort of its topics, the timeline, related
    papers); its item depends only on these three values. Joining them here, not in a
    template loop, saves the loop's per-item calls: a list of 10,000 papers is on several
    pages.
    """

    def __init__(self, env: jinja2.Environment) -> None:
        self.env = env
        self.done: dict[tuple[str, str, str | None], Markup] = {}

    def __call__(
        self, papers: Iterable[Paper], root: str, anchors: Mapping[str, str] | None = None
    ) -> Markup:
        """Return the items of `papers`, each followed by a newline; `anchors`: id by slug."""
        done, anchors = self.done, anchors or {}
        items = []
        for paper in papers:
            key = (paper.slug, root, anchors.get(paper.slug))
            item = done.get(key)
            if item is None:
                item = done[key] = self._render(paper, root, key[2])
            items.append(item)
        return Markup("\n").join([*items, ""])  # escapes whatever is not markup already

    def _render(self, paper: Paper, root: str, anchor: str | None) -> Markup:
        macro = self.env.get_template("_papers.html").module.paper_item  # type: ignore[attr-defined]
        return macro(paper, root, anchor)


class Chrome:
    """Render the parts every page shares, each once per (part, depth, section).

    All paper pages share one header and footer; rendering them once rather than on every
    page saves about a third of a paper page's rendering. The parts are the macros of
    `_chrome.html`: they see only `root`, `section` (the first segment of the page's path),
    the build's config and `asset`.
    """

    def __init__(
        self, env: jinja2.Environment, config: Config, asset: Callable[[str], str]
    ) -> None:
        self.env, self.config, self.asset = env, config, asset
        self.macros: Any = None
        self.done: dict[tuple[str, str, str], Markup] = {}

    def __call__(self, part: str, root: str, section: str) -> Markup:
        """Return the part (a macro's name) for pages at `root` in `section`."""
        key = (part, root, section)
        html = self.done.get(key)
        if html is None:
            if self.macros is None:
                context = {"config": self.config, "asset": self.asset}
                self.macros = self.env.get_template("_chrome.html").make_module(context)
            html = self.done[key] = getattr(self.macros, part)(root, section)
        return html


def year_anchor_map(papers: list[Paper]) -> dict[str, str]:
    """Map the first paper of each year (in list order) to its `y-YEAR` anchor id."""
    anchors: dict[str, str] = {}
    seen: set[int | None] = set()
    for paper in papers:
        if paper.year not in seen:
            seen.add(paper.year)
            anchors[paper.slug] = f"y-{paper.year or 'unknown'}"
    return anchors


def site_globals(site: Site) -> dict[str, Any]:
    """Compute values shared by many pages once: the charts."""
    labels = {t.id: t.title for t in site.topics}
    named = [t.id for t in site.topics if t.id != "other"]
    home = papers_per_year_chart(
        site.counts_by_year(named), labels, title="Papers per year, by topic", chart_id="chart-all"
    )
    per_topic = {
        t.id: papers_per_year_chart(
            site.counts_by_year([t.id]),
            labels,
            title=f"{t.title}: papers per year",
            chart_id=f"chart-{t.id}",
        )
        for t in site.topics
    }
    return {"home_chart": home, "topic_charts": per_topic, "year_anchor_map": year_anchor_map}


def topic_variant_path(topic: TopicPage, sort: str, code_only: bool) -> str:
    """Return the page that lists a topic with one sort order and filter."""
    suffix = "" if sort == "date" else f"-{sort}"
    return f"topics/{topic.id}{suffix}{'-code' if code_only else ''}.html"


def _topic_pages(site: Site) -> Iterator[PageSpec]:
    for topic in site.topics:
        for sort, (_label, key) in SORTS.items():
            for code_only in (False, True):
                if code_only and sort != "date":
                    continue
                papers = [p for p in topic.papers if p.code_url or not code_only]
                yield PageSpec(
                    topic_variant_path(topic, sort, code_only),
                    "topic.html",
                    {
                        "topic": topic,
                        "papers": sorted(papers, key=key),
                        "sort": sort,
                        "code_only": code_only,
                    },
                )


def paper_pages(site: Site, related: Mapping[str, Sequence[str]] | None) -> Iterator[PageSpec]:
    """List the paper pages: the only pages that show related papers (by slug, each).

    With `related` None (not ranked yet) their context has `UNRANKED` for the papers.
    """
    for paper in site.papers:
        shown: Any = UNRANKED
        if related is not None:
            shown = [site.by_slug[s] for s in related.get(paper.slug, ()) if s in site.by_slug]
        yield PageSpec(paper.url, "paper.html", {"paper": paper, "related": shown})


# Related papers not ranked yet: any use but passing them to `related_section` fails.
UNRANKED = jinja2.StrictUndefined(name="related")


class RelatedSection:
    """Render a paper page's related papers: the `related_section` macro of `_papers.html`.

    Pages call it as `related_section(related, root)`. `later` gives a stand-in that
    leaves a marker instead, for pages rendered before the ranking; `fill` replaces the
    markers with what this would have rendered there.
    """

    MARKER = Markup("<!--\x00related papers\x00-->")  # in no template, in no escaped text

    def __init__(self, env: jinja2.Environment) -> None:
        self.env = env

    def __call__(self, related: Sequence[Paper], root: str) -> Markup:
        """Return the section for these related papers on a page at `root`."""
        module = self.env.get_template("_papers.html").module  # as `_ListItems` renders items
        return module.related_section(related, root)  # type: ignore[attr-defined]

    def later(self, roots: list[str]) -> Callable[[object, str], Markup]:
        """Return a stand-in that marks where each section goes, noting its `root` in `roots`."""

        def mark(related: object, root: str) -> Markup:
            if related is not UNRANKED:
                raise Unranked("related_section called with other papers")
            roots.append(root)
            return self.MARKER

        return mark

    def fill(self, html: str, roots: list[str], related: Sequence[Paper]) -> str:
        """Return a page rendered with `later`, each marker replaced by its section."""
        parts = html.split(self.MARKER)
        if len(parts) != len(roots) + 1:
            raise Unranked("the page has more markers than sections")
        sections = [str(self(related, root)) for root in roots]  # str: `str + Markup` escapes
        return "".join(p + s for p, s in zip(parts, [*sections, ""], strict=True))


class Unranked(Exception):
    """A page cannot be rendered before its related papers are ranked."""


def list_pages(site: Site) -> Iterator[PageSpec]:
    """List every page but the paper pages, in a fixed order."""
    yield PageSpec("index.html", "home.html")
    yield PageSpec("topics/index.html", "topics.html")
    yield from _topic_pages(site)
    yield PageSpec("timeline.html", "timeline.html", {"years": timeline(site.papers)})
    yield PageSpec("digests/index.html", "digests.html")
    for digest in site.digests:
        yield PageSpec(digest.url, "digest.html", {"digest": digest})
    yield PageSpec("about.html", "about.html")
    yield PageSpec("search.html", "search.html")
    yield PageSpec("404.html", "404.html")


def timeline(papers: tuple[Paper, ...]) -> list[tuple[int | None, list[Paper]]]:
    """Group papers by year, newest year first and unknown year last."""
    groups: dict[int | None, list[Paper]] = {}
    for paper in sorted(papers, key=lambda p: p.newest_key):
        groups.setdefault(paper.year, []).append(paper)
    known = sorted((y for y in groups if y is not None), reverse=True)
    return [(year, groups[year]) for year in (*known, *([None] if None in groups else []))]


def render_page(
    env: jinja2.Environment,
    spec: PageSpec,
    site: Site,
    asset: Callable[[str], str],
    shared: Mapping[str, Any],
) -> str:
    """Render one page to HTML text."""
    template = env.get_template(spec.template)
    return template.render(
        **shared,
        site=site,
        config=site.config,
        root=site.config.base_path if spec.path == "404.html" else spec.root,
        page_path=spec.path,
        asset=asset,
        sorts=SORTS,
        variant_path=topic_variant_path,
        **spec.context,
    )
