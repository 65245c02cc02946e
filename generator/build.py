"""Build stage: load everything, model the site, write it to a fresh folder, then swap it in.

A failed build (bad input, or warnings under --strict) deletes its temporary folder and leaves
the previous output untouched.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .checks import broken_links
from .config import Config
from .errors import BuildError, SurveyError
from .fsutil import content_lock
from .ingest import ingest
from .ledger import load_ledger
from .render import make_environment, pages, render_page, site_globals
from .site import Site, build_site
from .store import load_store
from .topics import load_topics

Progress = Callable[[str], None]
FINGERPRINTED = {".css", ".js"}


@dataclass
class BuildReport:
    """What a build wrote and what it warned about."""

    output: Path
    pages: int = 0
    files: int = 0
    warnings: list[str] = field(default_factory=list)


def load_site(config: Config) -> Site:
    """Read all content and model the site (no writing)."""
    store = load_store(config.papers_dir, config.content_dir)
    topics = load_topics(config.topics_file)
    ledger = load_ledger(config.ledger_file)
    return build_site(config, [s.entry for s in store.values()], topics, ledger)


def _write(root: Path, rel: str, data: bytes | str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def fingerprint(rel: str, data: bytes) -> str:
    """Return a content-hashed file name for a cacheable asset (`css/site.1a2b3c4d5e.css`)."""
    path = Path(rel)
    if path.suffix not in FINGERPRINTED:
        return rel
    digest = hashlib.sha256(data).hexdigest()[:10]
    return path.with_name(f"{path.stem}.{digest}{path.suffix}").as_posix()


def copy_static(src: Path, dest: Path) -> dict[str, str]:
    """Copy static files, fingerprinting CSS and JS; return logical name -> written name."""
    names: dict[str, str] = {}
    for path in sorted(p for p in src.rglob("*") if p.is_file()):
        rel = path.relative_to(src).as_posix()
        data = path.read_bytes()
        names[rel] = fingerprint(rel, data)
        _write(dest, names[rel], data)
    return names


def _asset_lookup(names: dict[str, str]) -> Callable[[str], str]:
    def asset(name: str) -> str:
        if name not in names:
            raise SurveyError(f"template asks for asset {name!r}, which is not in site_src/ or search/")
        return names[name]

    return asset


def write_site(site: Site, dest: Path, progress: Progress) -> BuildReport:
    """Write every file of the site into an empty folder."""
    from .feeds_site import feed_files
    from .search_site import search_files

    report = BuildReport(output=dest)
    names = copy_static(site.config.static_dir, dest)
    for rel, data in search_files(site).items():
        names[rel] = fingerprint(rel, data)
        _write(dest, names[rel], data)
    for rel, data in feed_files(site).items():
        _write(dest, rel, data)
    env = make_environment(site.config.templates_dir)
    asset = _asset_lookup(names)
    shared = site_globals(site)
    specs = list(pages(site))
    for index, spec in enumerate(specs, start=1):
        _write(dest, spec.path, render_page(env, spec, site, asset, shared))
        if index % 500 == 0:
            progress(f"rendered {index}/{len(specs)} pages")
    report.pages = len(specs)
    report.files = sum(1 for p in dest.rglob("*") if p.is_file())
    return report


def _swap(tmp: Path, output: Path) -> None:
    """Replace the output folder with the new build in two renames."""
    old = output.with_name(output.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if output.exists():
        os.replace(output, old)
    os.replace(tmp, output)
    shutil.rmtree(old, ignore_errors=True)


def _recover(output: Path) -> None:
    """Restore the previous output if a build was killed between the two renames."""
    old = output.with_name(output.name + ".old")
    if old.exists() and not output.exists():
        os.replace(old, output)


def build(
    config: Config, *, strict: bool = False, run_ingest: bool = True, progress: Progress = lambda _m: None
) -> BuildReport:
    """Ingest new digests, model the whole site, then write it atomically to the output folder."""
    if run_ingest:
        for line in ingest(config, progress=progress).lines()[-1:]:
            progress(line)
    with content_lock(config.lock_file):
        output = config.output_dir
        _recover(output)
        site = load_site(config)
        progress(f"modelled {len(site.papers)} papers in {len(site.topics)} topics")
        output.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.tmp-", dir=output.parent))
        tmp.chmod(0o755)
        try:
            report = write_site(site, tmp, progress)
            report.warnings = [*site.warnings, *broken_links(tmp)]
            if strict and report.warnings:
                raise BuildError(
                    "build failed in strict mode:\n  " + "\n  ".join(report.warnings)
                )
            _swap(tmp, output)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        report.output = output
        return report
