"""Build stage: load everything, model the site, write it to a fresh folder, then swap it in.

A failed build (bad input, or warnings under --strict) deletes its temporary folder and leaves
the previous output untouched. Unchanged inputs skip the build entirely; unchanged paper pages
are hard-linked from the previous output instead of rendered again.

Heavy modules (Jinja, lunr, Markdown) are imported inside functions so that a no-change
rebuild costs little more than interpreter start-up.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import cache, entrycache, parallel
from .config import Config
from .errors import BuildError, SurveyError
from .fsutil import (
    content_lock,
    remove_stale_temporaries,
    require_inside,
    tree_files,
    write_output,
)

if TYPE_CHECKING:
    from .searchdoc import SearchDoc
    from .site import Site

Progress = Callable[[str], None]
FINGERPRINTED = {".css", ".js"}
MANIFEST = "search/manifest.js"  # the one search file pages name (the shards it lists vary)


@dataclass
class BuildReport:
    """What a build wrote and what it warned about."""

    output: Path
    pages: int = 0
    rendered: int = 0
    files: int = 0
    unchanged: bool = False
    warnings: list[str] = field(default_factory=list)
    listing: set[str] = field(default_factory=set, repr=False)  # every output file
    output_stamp: str | None = None  # `cache.tree_stamp` of the output, taken while writing


def load_site(
    config: Config,
    check_patterns: bool = True,
    tail: Callable[[], Mapping[str, entrycache.Cached]] | None = None,
) -> Site:
    """Read all content and model the site (no writing), related papers aside.

    Without `check_patterns` the topic rules' regexes are not compiled (`check_topics` does).
    `tail` waits for entries another process read meanwhile (`store.read_tail`).
    """
    from .ledger import load_ledger
    from .site import build_site
    from .store import load_store
    from .topics import load_topics

    store = load_store(config.papers_dir, config.content_dir, config.cache_dir, tail)
    entrycache.forget()  # the entries' texts and raw data are not needed past this point
    topics = load_topics(require_inside(config.topics_file, config.content_dir), check_patterns)
    ledger = load_ledger(require_inside(config.ledger_file, config.content_dir))
    entries = [s.entry for s in store.values()]
    del store
    return build_site(config, entries, topics, ledger)


def _write(root: Path, rel: str, data: bytes | str) -> None:
    write_output(root / rel, data)


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


def asset_lookup(names: dict[str, str]) -> Callable[[str], str]:
    """Return the template function that maps a logical asset name to its written name."""

    def asset(name: str) -> str:
        if name not in names:
            raise SurveyError(
                f"template asks for asset {name!r}, which is not in site_src/ or search/"
            )
        return names[name]

    return asset


def write_site(
    site: Site,
    dest: Path,
    progress: Progress,
    previous: Path | None,
    related: Callable[[], Mapping[str, tuple[str, ...]]],
    compiled: Callable[[], Mapping[str, bytes]],
    written: Callable[[], object] = lambda: None,
) -> BuildReport:
    """Write every file of the site but the search payload into an empty folder.

    The caller has started writing the search payload (`_write_search`), ranking related
    papers and compiling the templates: `related` waits for the ranking, `compiled` for the
    template code; `written` is called once these files are all written, before the links
    are checked. The report's warnings are the broken links; it does not list the output.
    """
    from .checks import broken_links
    from .feeds_site import feed_files
    from .pagewriter import write_pages

    names = copy_static(site.config.static_dir, dest)
    # Shards are named by content in search.py and listed in the small manifest, the only
    # search file pages name. It keeps a stable name (and short caching): were it
    # fingerprinted, every page would change whenever any paper did. So pages do not depend
    # on the index, and the index is built while related papers and pages are computed.
    names[MANIFEST] = MANIFEST
    feeds: dict[str, bytes] = {}

    def write_feeds() -> None:
        """Write the feeds (after the list pages, while the helper ranks related papers)."""
        feeds.update(feed_files(site))
        for rel, data in feeds.items():
            _write(dest, rel, data)

    pages = write_pages(site, dest, names, previous, progress, related, compiled(), write_feeds)
    written()
    progress("checking links")
    # The search payload may still be on its way: of its files, pages name only the
    # manifest (in `names`), so links are checked against the files written here and it.
    files = {*names.values(), *feeds, *pages.scans}
    broken = broken_links(dest, scans=pages.scans, files=files)
    return BuildReport(dest, pages=pages.pages, rendered=pages.rendered, warnings=broken)


def _write_search(docs: list[SearchDoc], config: Config, dest: Path) -> None:
    """Write the search payload (manifest and shards) into the output folder."""
    from .search_site import payload_files

    for rel, data in payload_files(docs, config.search_shard_size, config.cache_dir).items():
        _write(dest, rel, data)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two folders in one atomic step (Linux renameat2); tell whether it was possible."""
    import ctypes  # here, not at start-up: the build waits for its imports before forking

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    done = renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange)
    return done == 0


def _swap(tmp: Path, output: Path) -> None:
    """Put the new build in place of the output folder, atomically where the system can.

    With an atomic exchange there is no moment without a complete output folder; elsewhere
    two renames leave a brief window, which the next build repairs (`_recover`). The previous
    output is left as `<output>.old` for `_removing_previous`.
    """
    old = output.with_name(output.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if output.exists() and _exchange(tmp, output):
        os.replace(tmp, old)  # tmp now holds the previous site
    else:
        if output.exists():
            os.replace(output, old)
        os.replace(tmp, output)


def _remove_leftover_previous(config: Config) -> None:
    """Finish deleting a previous output that a killed build left half deleted."""
    old = config.output_dir.with_name(config.output_dir.name + ".old")
    if old.exists():
        with content_lock(config.lock_file):  # not while a build is swapping folders
            shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def _removing_previous(output: Path) -> Iterator[None]:
    """Delete the previous output (left beside the new one by `_swap`) while the body runs."""
    old = output.with_name(output.name + ".old")
    remover = threading.Thread(target=shutil.rmtree, args=(old,), kwargs={"ignore_errors": True})
    remover.start()  # unlinking is mostly system time: it overlaps with the stamps well
    try:
        yield
    finally:
        remover.join()


def _recover(output: Path) -> None:
    """Restore the previous output if a build was killed between the two renames."""
    old = output.with_name(output.name + ".old")
    if old.exists() and not output.exists():
        os.replace(old, output)


def _input_stamp(config: Config, strict: bool) -> str:
    folders = [config.content_dir, config.templates_dir, config.static_dir]
    return cache.tree_stamp([f for f in folders if f.exists()], extra=(repr(config), strict))


def _up_to_date(config: Config, stamp: str) -> bool:
    """Tell whether the last successful build used these exact inputs and is still intact."""
    last = cache.load(config.cache_dir, "build")
    output = config.output_dir
    return (
        last.get("stamp") == stamp
        and last.get("output") == str(output)
        and output.is_dir()
        and last.get("output_stamp") == cache.tree_stamp([output])
    )


def build(
    config: Config,
    *,
    strict: bool = False,
    run_ingest: bool = True,
    progress: Progress = lambda _m: None,
) -> BuildReport:
    """Ingest new digests, model the whole site, then write it atomically to the output folder."""
    stamp = _input_stamp(config, strict)
    if _up_to_date(config, stamp):
        progress("nothing changed since the last build")
        _remove_leftover_previous(config)
        return BuildReport(output=config.output_dir, unchanged=True)
    with parallel.helper() as helper:  # it compiles the templates while this one ingests
        compiled = helper.submit(_precompile, config.templates_dir)
        if run_ingest and ingest_new_digests(config, progress):
            stamp = _input_stamp(config, strict)
        with content_lock(config.lock_file):
            # Past the ingest check, an ingest has compiled the topic rules as they are now.
            report = _build_locked(config, strict, progress, not run_ingest, helper, compiled)
            with _removing_previous(config.output_dir):
                _save_stamps(config, stamp, report)
            return report


def _precompile(templates_dir: Path) -> dict[str, bytes]:
    """Import Jinja and compile the templates (in the helper, forked before Jinja's import)."""
    from .render import precompile  # this process imports it only to render, later

    return precompile(templates_dir)


def _save_stamps(config: Config, stamp: str, report: BuildReport) -> None:
    """Record a successful build: the inputs as they were before it read them, and its output.

    Taking the input stamp first means a file edited while the build ran is built next time.
    """
    entry = {"stamp": stamp, "output": str(report.output), "output_stamp": report.output_stamp}
    cache.save(config.cache_dir, "build", entry)


def _ingest_stamps(config: Config) -> tuple[str, str]:
    """Fingerprint what ingest reads: (digests plus the rest, the rest without digests).

    "The rest" is the ledger, the topic rules and which entry files exist: a change there
    (a digest date edited, a rule retuned, an entry deleted) calls for a full ingest.
    """
    rest = [config.ledger_file, config.topics_file]
    papers = sorted(p.name for p in config.papers_dir.glob("*.yaml"))
    others = cache.content_key([(p.name, p.exists() and cache.file_stamp(p)) for p in rest], papers)
    return cache.tree_stamp([config.digests_dir], extra=others), others


def _pending_digests(config: Config, trusted: bool) -> list[Path] | None:
    """Return the digests the ledger does not list with their current content.

    Return None (ingest everything) unless the entries are known to be what ingest wrote
    from the ledger's digests: `trusted` (this checkout's cache says so) or, with no cache
    (a fresh clone), the ledger's stamp still matches the content.
    """
    from .fsutil import safe_files
    from .ledger import digest_file_sha256, ingest_stamp, read_ledger

    ledger = read_ledger(require_inside(config.ledger_file, config.content_dir))
    if not trusted and (
        ledger.stamp is None
        or ledger.stamp != ingest_stamp(ledger.items, config.topics_file, config.papers_dir)
    ):
        return None
    known = {item.id: item.sha256 for item in ledger.items}
    return [
        path
        for path in safe_files(config.digests_dir, "*.txt", config.content_dir)
        if known.get(path.stem) != digest_file_sha256(path)  # an unreadable one: ingest says why
    ]


def ingest_new_digests(config: Config, progress: Progress) -> bool:
    """Ingest what changed since the last build's ingest: new digests only, when possible.

    Tell whether an ingest ran (it may have rewritten entries and the ledger). On return the
    topic rules are known to compile: an ingest compiled them as they are now, either in this
    call or when it wrote the ledger stamp or the ingest cache that this call found matching.
    """
    with content_lock(config.lock_file):  # what a killed ingest left, even when none runs
        remove_stale_temporaries(config.papers_dir, ".*.tmp")
        remove_stale_temporaries(config.content_dir, ".digests.yaml.*.tmp")
    everything, others = _ingest_stamps(config)
    last = cache.load(config.cache_dir, "ingest")
    if last.get("everything") == everything:
        progress("no new digests")
        return False
    paths = _pending_digests(config, trusted=last.get("others") == others)
    if paths == []:
        progress("no new digests")
    else:
        from .ingest import ingest  # with its parser and topic scorer: only when it runs

        report = ingest(config, paths, progress=progress, touched_only=paths is not None)
        progress(report.lines()[-1])
        everything, others = _ingest_stamps(config)  # what the ingest left
    cache.save(config.cache_dir, "ingest", {"everything": everything, "others": others})
    return paths != []


def _build_locked(
    config: Config,
    strict: bool,
    progress: Progress,
    check_rules: bool,
    helper: parallel.Helper,
    compiled: Callable[[], Mapping[str, bytes]],
) -> BuildReport:
    from .search_site import import_index_code

    output = config.output_dir
    _recover(output)
    remove_stale_temporaries(output.parent, f".{output.name}.tmp-*")
    tmp: Path | None = None
    try:
        # The helper uses the core that reading the content leaves idle: having compiled the
        # templates, it reads part of the entries when none are cached and imports numpy and
        # the search index code; then it ranks related papers and builds the index. The build
        # shows topic rules but never runs them: unless an ingest has just compiled them, it
        # checks their regexes last, while the helper finishes the index.
        tail = _read_tail(config, helper)
        helper.submit(import_index_code)
        site = load_site(config, check_patterns=False, tail=tail)
        progress(f"modelled {len(site.papers)} papers in {len(site.topics)} topics")
        tmp = _new_output_folder(output)
        report, finished = _write_with_helper(site, tmp, progress, helper, compiled)
        if check_rules:
            _check_topic_rules(config)
        report.output_stamp = finished()
        report.listing = tree_files(tmp)
        report.files = len(report.listing)
        report.warnings = [*site.warnings, *report.warnings]
        if strict and report.warnings:
            raise BuildError("build failed in strict mode:\n  " + "\n  ".join(report.warnings))
        _swap(tmp, output)
    except BaseException:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    report.output = output
    return report


def _read_tail(
    config: Config, helper: parallel.Helper
) -> Callable[[], Mapping[str, entrycache.Cached]] | None:
    """Have the helper read the last entry files when every entry must be parsed."""
    from .store import read_tail

    if not helper.forked or not entrycache.cold(config.cache_dir):
        return None
    return helper.submit(read_tail, config.papers_dir, config.content_dir)


def _check_topic_rules(config: Config) -> None:
    """Check the topic rules' regexes, which the site model leaves uncompiled."""
    from .topics import check_topics  # imported with the site model (not before the fork)

    check_topics(config.topics_file)


def _new_output_folder(output: Path) -> Path:
    """Make the empty temporary folder a build writes into, beside the output folder."""
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.tmp-", dir=output.parent))
    tmp.chmod(0o755)
    return tmp


def _write_with_helper(
    site: Site,
    tmp: Path,
    progress: Progress,
    helper: parallel.Helper,
    compiled: Callable[[], Mapping[str, bytes]],
) -> tuple[BuildReport, Callable[[], str]]:
    """Write the site into `tmp`, the helper ranking related papers and indexing meanwhile.

    Neither the search index nor the list pages use related papers: the list pages are
    written, and the paper pages rendered but for their related papers, while the helper
    ranks them on its analysis of the papers for the index.
    Once the pages are written the helper also stamps the folder, after the search payload
    and while this process checks the links (a folder's stamp does not change when it is
    renamed into place). Return the report and the function that waits for the helper's
    work and returns that stamp.
    """
    from .search_site import related_on_index, search_docs

    config = site.config
    previous = config.output_dir if config.output_dir.is_dir() else None
    docs, slugs = search_docs(site), [paper.slug for paper in site.papers]
    related = helper.submit(related_on_index, docs, slugs, config.related_count, config.cache_dir)
    search_done = helper.submit(_write_search, docs, config, tmp)
    stamped: list[Callable[[], str]] = []

    def stamp() -> None:
        stamped.append(helper.submit(cache.tree_stamp, [tmp]))

    def finished() -> str:
        search_done()  # first: its errors, if any
        return stamped[0]()

    progress("ranking related papers and building the search index alongside pages")
    return write_site(site, tmp, progress, previous, related, compiled, stamp), finished
