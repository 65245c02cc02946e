"""Write the site's HTML pages: reuse unchanged paper pages, render the rest on every core.

A paper page depends only on its own context (the paper and its related papers), the
templates, the asset names and the configuration. Its key is a hash of those; when the key
matches the previous build's and that file still exists, the file is hard-linked (or copied)
from the previous output instead of rendered.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2

from . import cache, parallel
from .errors import BuildError, ContentError
from .render import PageSpec, make_environment, pages, render_page, site_globals
from .site import Site

Progress = Callable[[str], None]
CACHEABLE = {"paper.html"}
PARALLEL_MIN = 100
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


class RenderFailure(Exception):
    """A template failed at render time (plain message, so it crosses process boundaries)."""


def compile_templates(env: jinja2.Environment, folder: Path) -> None:
    """Compile every template up front, so syntax errors name the file and line."""
    for path in sorted(folder.rglob("*.html")):
        try:
            env.get_template(path.relative_to(folder).as_posix())
        except jinja2.TemplateSyntaxError as exc:
            raise ContentError(path, exc.lineno, f"template error: {exc.message}") from None


def _render_range(start: int, stop: int) -> int:
    """Render a slice of the job's pages (runs in a worker process or in-line)."""
    for spec in _JOB["specs"][start:stop]:
        try:
            html = render_page(_JOB["env"], spec, _JOB["site"], _JOB["asset"], _JOB["shared"])
        except jinja2.TemplateError as exc:
            raise RenderFailure(f"{spec.path} ({spec.template}): {exc}") from None
        path = _JOB["dest"] / spec.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
    return stop - start


def _render_all(specs: list[PageSpec], progress: Progress) -> None:
    jobs = parallel.jobs_for(len(specs), PARALLEL_MIN)
    done = sum(parallel.starmap(_render_range, parallel.ranges(len(specs), jobs * 4), jobs))
    progress(f"rendered {done} pages on {jobs} process{'es' if jobs > 1 else ''}")


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
    env = make_environment(site.config.templates_dir)
    compile_templates(env, site.config.templates_dir)  # forked workers inherit the compiled env
    _JOB.update(
        env=env,
        site=site,
        specs=todo,
        dest=dest,
        asset=asset_lookup(names),
        shared=site_globals(site),
    )
    try:
        _render_all(todo, progress)
    except RenderFailure as exc:
        raise BuildError(f"a template failed: {exc}") from None
    finally:
        _JOB.clear()
    cache.save(site.config.cache_dir, "pages", keys)
    return len(specs), len(todo)
