"""Write the site's HTML pages: reuse unchanged paper pages, render the rest on every core.

A paper page depends only on its own context (the paper and its related papers), the
templates, the asset names and the configuration. Its key is a hash of those; when the key
matches the previous build's and that file still exists, the file is hard-linked (or copied)
from the previous output instead of rendered.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import cache
from .render import PageSpec, make_environment, pages, render_page, site_globals
from .site import Site

Progress = Callable[[str], None]
CACHEABLE = {"paper.html"}
PARALLEL_MIN = 400
_JOB: dict[str, Any] = {}


def _page_key(base: str, spec: PageSpec) -> str | None:
    if spec.template not in CACHEABLE:
        return None
    return cache.content_key(base, spec.path, spec.template, sorted(spec.context.items()))


def _reuse(previous: Path | None, dest: Path, rel: str) -> bool:
    if previous is None or not (previous / rel).is_file():
        return False
    target = dest / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(previous / rel, target)
    except OSError:
        shutil.copyfile(previous / rel, target)
    return True


def _render_range(start: int, stop: int) -> int:
    """Render a slice of the job's pages (runs in a worker process or in-line)."""
    env = make_environment(_JOB["site"].config.templates_dir)
    for spec in _JOB["specs"][start:stop]:
        html = render_page(env, spec, _JOB["site"], _JOB["asset"], _JOB["shared"])
        path = _JOB["dest"] / spec.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
    return stop - start


def _render_all(specs: list[PageSpec], progress: Progress) -> None:
    jobs = min(os.cpu_count() or 1, 4)
    if jobs < 2 or len(specs) < PARALLEL_MIN or "fork" not in multiprocessing.get_all_start_methods():
        _render_range(0, len(specs))
        return
    step = -(-len(specs) // (jobs * 4))
    ranges = [(i, min(i + step, len(specs))) for i in range(0, len(specs), step)]
    done = 0
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        for count in pool.starmap(_render_range, ranges, chunksize=1):
            done += count
        progress(f"rendered {done} pages on {jobs} processes")


def write_pages(
    site: Site, dest: Path, names: dict[str, str], previous: Path | None, progress: Progress
) -> tuple[int, int]:
    """Write every page; return (pages in the site, pages actually rendered)."""
    from .build import asset_lookup

    templates = cache.tree_stamp([site.config.templates_dir])
    base = cache.content_key(templates, sorted(names.items()), repr(site.config))
    known = cache.load(site.config.cache_dir, "pages") if previous else {}
    specs, keys, todo = list(pages(site)), {}, []
    for spec in specs:
        key = _page_key(base, spec)
        if key is not None:
            keys[spec.path] = key
        if key is None or known.get(spec.path) != key or not _reuse(previous, dest, spec.path):
            todo.append(spec)
    progress(f"rendering {len(todo)} of {len(specs)} pages")
    _JOB.update(site=site, specs=todo, dest=dest, asset=asset_lookup(names), shared=site_globals(site))
    try:
        _render_all(todo, progress)
    finally:
        _JOB.clear()
    cache.save(site.config.cache_dir, "pages", keys)
    return len(specs), len(todo)
