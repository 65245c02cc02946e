"""Write the site's HTML pages: reuse unchanged paper pages, render the rest on every core.

A paper page depends only on its own context (the paper and its related papers), the
templates, the asset names and the configuration. Its key is a hash of those; when the key
matches the previous build's and that file still exists, the file is hard-linked (or copied)
from the previous output instead of rendered.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import jinja2

from . import cache, parallel
from .checks import Scan, scan_page
from .errors import BuildError, ContentError
from .fsutil import write_output
from .render import (
    Chrome,
    PageSpec,
    RelatedSection,
    Unranked,
    list_pages,
    make_environment,
    paper_pages,
    render_page,
    site_globals,
    template_names,
)
from .site import Paper, Site, rank_related

Progress = Callable[[str], None]
# Paper pages from which rendering is split over the cores. Below it, the build's helper
# building the search index keeps the other core busy meanwhile, and a forked worker costs
# more than it saves (copy-on-write faults, a third process on two cores).
PARALLEL_MIN = 1000
# Papers from which the list pages are split too. They are rendered while the helper ranks
# related papers, which the paper pages then wait for: up to 100,000 papers the ranking takes
# longer than the list pages, and a second process for them only takes its core away.
LIST_PARALLEL_MIN = 100_000
# Paper pages rendered, at most, before their related papers are ranked; they are held in
# memory until then.
EARLY_PAGES = 2000
_JOB: dict[str, Any] = {}


def _page_key(base: str, spec: PageSpec, digests: Mapping[str, str]) -> str:
    """Hash what a paper page shows: its paper and its related papers' list items.

    `digests` maps every paper's slug to `_paper_digest` of it.
    """
    parts = [digests[spec.context["paper"].slug]]
    parts += [digests[p.slug] for p in spec.context["related"]]
    return cache.content_key(base, spec.path, spec.template, parts)


# What a list item or page shows of a paper: all but its sort key
_SHOWN = tuple(f.name for f in fields(Paper) if f.name != "newest_key")


def _paper_digest(paper: Paper) -> str:
    """Hash one paper's shown fields."""
    return cache.content_key(*(getattr(paper, name) for name in _SHOWN))


def _reuse(previous: Path | None, dest: Path, rel: str, folders: set[str]) -> bool:
    """Hard-link (or copy) a page from the previous output; tell whether it was there.

    `folders` remembers the output folders already made.
    """
    if previous is None:
        return False
    source, target = os.path.join(previous, rel), os.path.join(dest, rel)
    folder = os.path.dirname(target)
    if folder not in folders:
        os.makedirs(folder, exist_ok=True)
        folders.add(folder)
    try:
        os.link(source, target)
    except FileNotFoundError:
        return False
    except OSError:  # another file system, or no hard links there
        if not os.path.isfile(source):
            return False
        shutil.copyfile(source, target)
    return True


class RenderFailure(Exception):
    """A template failed at render time (plain message, so it crosses process boundaries)."""


def compile_templates(env: jinja2.Environment, folder: Path) -> None:
    """Compile every template up front, so syntax errors name the file and line."""
    for name in template_names(folder):
        try:
            env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            raise ContentError(
                folder / name, exc.lineno, f"template error: {exc.message}"
            ) from None


def _render_range(start: int, stop: int) -> dict[str, Scan]:
    """Render and write a slice of the job's pages; return each page's links and ids."""
    scans, folders = {}, set()
    for spec in _JOB["specs"][start:stop]:
        try:
            html = render_page(_JOB["env"], spec, _JOB["site"], _JOB["asset"], _JOB["shared"])
        except jinja2.TemplateError as exc:
            raise RenderFailure(f"{spec.path} ({spec.template}): {exc}") from None
        write_output(_JOB["dest"] / spec.path, html, folders)
        scans[spec.path] = scan_page(html)
    return scans


def _render_all(specs: list[PageSpec], what: str, progress: Progress, jobs: int) -> dict[str, Scan]:
    """Render `specs` on `jobs` processes; return each page's links and ids."""
    _JOB["specs"] = specs
    jobs = max(1, min(jobs, len(specs)))  # no pages: say "1 process", fork none
    parts = parallel.starmap(_render_range, parallel.ranges(len(specs), jobs * 4), jobs)
    progress(f"rendered {len(specs)} {what} on {jobs} process{'es' if jobs > 1 else ''}")
    return {path: scan for part in parts for path, scan in part.items()}


@dataclass
class PagesWritten:
    """What `write_pages` did: page counts and every page's links and ids (for checks)."""

    pages: int
    rendered: int
    scans: dict[str, Scan]


def write_pages(
    site: Site,
    dest: Path,
    names: dict[str, str],
    previous: Path | None,
    progress: Progress,
    related: Callable[[], Mapping[str, tuple[str, ...]]] | None = None,
    compiled: Mapping[str, bytes] | None = None,
    meanwhile: Callable[[], object] = lambda: None,
) -> PagesWritten:
    """Write every page, reusing unchanged paper pages from the previous output.

    List pages come first: they do not show related papers, so they are rendered while the
    ranking runs; then `meanwhile` runs. `related` waits for a ranking started elsewhere
    (None: rank here); `compiled` is template code compiled elsewhere (`render.precompile`).
    With no previous output, every paper page is rendered: the first are rendered before
    the ranking is in too, and finished once it is (`_render_early`).
    """
    from .build import asset_lookup

    env = make_environment(site.config.templates_dir, compiled)
    compile_templates(env, site.config.templates_dir)  # forked workers inherit the compiled env
    asset = asset_lookup(names)
    section = RelatedSection(env)
    shared = {**site_globals(site), "chrome": Chrome(env, site.config, asset)}
    shared["related_section"] = section
    _JOB.update(env=env, site=site, dest=dest, asset=asset, shared=shared, section=section)
    try:
        lists = list(list_pages(site))
        jobs = parallel.jobs_for(len(site.papers), LIST_PARALLEL_MIN)  # few pages, long lists
        scans = _render_all(lists, "list pages", progress, jobs)
        meanwhile()
        digests = {paper.slug: _paper_digest(paper) for paper in site.papers}  # before waiting
        early = _render_early(site) if previous is None and related is not None else {}
        ranked = related() if related is not None else rank_related(site)
        todo, kept = _plan_paper_pages(site, ranked, names, previous, dest, digests)
        progress(f"rendering {len(todo)} of {len(site.papers)} paper pages")
        finished = _finish_early(early, todo)
        if finished:
            progress(f"rendered {len(finished)} paper pages while related papers were ranked")
        scans.update(finished)
        rest = [spec for spec, _ in todo if spec.path not in finished]
        if rest or not finished:
            jobs = parallel.jobs_for(len(rest), PARALLEL_MIN)
            scans.update(_render_all(rest, "paper pages", progress, jobs))
    except RenderFailure as exc:
        raise BuildError(f"a template failed: {exc}") from None
    finally:
        _JOB.clear()
    kept.update((spec.path, (key, scans[spec.path])) for spec, key in todo)
    cache.save(site.config.cache_dir, "pages", kept)
    scans.update((path, scan) for path, (_, scan) in kept.items())
    return PagesWritten(len(lists) + len(site.papers), len(lists) + len(todo), scans)


def _render_early(site: Site) -> dict[str, tuple[str, list[str]]]:
    """Render the first EARLY_PAGES paper pages while their related papers are ranked.

    Each page has a marker where its related papers go (`RelatedSection.later`) and the
    page depths its sections were asked for. Rendering stops at the first page the
    templates cannot render so (they use the related papers otherwise): that page and the
    next are rendered once the ranking is in.
    """
    early = {}
    for spec in itertools.islice(paper_pages(site, None), EARLY_PAGES):
        roots: list[str] = []
        shared = {**_JOB["shared"], "related_section": _JOB["section"].later(roots)}
        try:
            html = render_page(_JOB["env"], spec, site, _JOB["asset"], shared)
        except (jinja2.TemplateError, Unranked):
            break
        early[spec.path] = (html, roots)
    return early


def _finish_early(
    early: dict[str, tuple[str, list[str]]], todo: list[tuple[PageSpec, str]]
) -> dict[str, Scan]:
    """Fill in and write the pages rendered early; return each page's links and ids."""
    scans, folders = {}, set()
    for spec, _key in todo:
        if spec.path not in early:
            continue
        html, roots = early.pop(spec.path)
        try:
            html = _JOB["section"].fill(html, roots, spec.context["related"])
        except Unranked:
            continue  # rendered with the pages not rendered early
        except jinja2.TemplateError as exc:
            raise RenderFailure(f"{spec.path} ({spec.template}): {exc}") from None
        write_output(_JOB["dest"] / spec.path, html, folders)
        scans[spec.path] = scan_page(html)
    return scans


def _plan_paper_pages(
    site: Site,
    related: Mapping[str, tuple[str, ...]],
    names: dict[str, str],
    previous: Path | None,
    dest: Path,
    digests: Mapping[str, str],
) -> tuple[list[tuple[PageSpec, str]], dict[str, tuple[str, Scan]]]:
    """Reuse the paper pages whose key matches the last build's; return the rest with keys."""
    templates = cache.tree_stamp([site.config.templates_dir])
    base = cache.content_key(templates, sorted(names.items()), site.config.settings())
    known = cache.load(site.config.cache_dir, "pages") if previous else {}
    todo, kept, folders = [], {}, set()
    for spec in paper_pages(site, related):
        key = _page_key(base, spec, digests)
        hit = known.get(spec.path)
        if hit and hit[0] == key and _reuse(previous, dest, spec.path, folders):
            kept[spec.path] = hit
        else:
            todo.append((spec, key))
    return todo, kept
