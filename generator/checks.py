"""Whole-output checks: every internal link, asset reference and fragment resolves."""

from __future__ import annotations

import html
import posixpath
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .fsutil import tree_files

# The generator writes every attribute double-quoted after one space, so a scan of the
# attributes is exact for its own output (a test compares it with an HTML parser on every
# page) and far faster than a full parse over thousands of pages. The literal space lets
# the regex engine skip to candidates: twice as fast as `\s`.
_ATTR_RE = re.compile(r' (href|src|action|id)="([^"]*)"')
_PLAIN_PATH = re.compile(r"[\w.-][\w./-]*\Z", re.ASCII)  # relative, nothing to decode


Scan = tuple[list[str], set[str]]  # a page's references (href, src, action) and its ids


def scan_page(text: str) -> Scan:
    """Return the references and the ids of one page's HTML."""
    refs, ids = [], set()
    for name, value in _ATTR_RE.findall(text):
        value = html.unescape(value)
        if name == "id":
            ids.add(value)
        else:
            refs.append(value)
    return refs, ids


def broken_links(
    site_dir: Path,
    skip: frozenset[str] = frozenset({"404.html"}),
    scans: dict[str, Scan] | None = None,
    files: set[str] | None = None,
) -> list[str]:
    """Return a message for every internal link, asset or fragment that does not resolve.

    `scans` holds pages already scanned while they were written; other pages are read.
    `files` lists the output's files when the caller has them (else the folder is listed).
    """
    files = tree_files(site_dir) if files is None else files
    known = scans or {}
    scanned = {
        rel: known[rel] if rel in known else scan_page((site_dir / rel).read_text("utf-8"))
        for rel in sorted(files)
        if rel.endswith(".html")
    }
    problems = []
    by_folder: dict[str, dict[str, str | None]] = {}  # pages in one folder share most links
    for rel, (refs, _ids) in scanned.items():
        if rel in skip:
            continue
        shared = by_folder.setdefault(posixpath.dirname(rel), {})
        own: dict[str, str | None] = {}  # links with a fragment depend on the page itself
        for ref in refs:
            seen = own if "#" in ref or not ref else shared
            if ref not in seen:
                seen[ref] = _check_on_page(rel, ref, files, scanned)
            if seen[ref]:
                problems.append(f"{rel}: {seen[ref]}")
    return problems


def _check_on_page(page: str, ref: str, files: set[str], scanned: dict) -> str | None:
    """Check one reference; same-page anchors and plain relative paths skip urlsplit."""
    if ref[:1] == "#" and ref.isprintable():  # urlsplit would drop tabs and newlines
        return _check_target(page, ref, "", ref[1:], files, scanned)
    if _PLAIN_PATH.match(ref):  # no scheme, host, query, fragment or escape
        return _check_target(page, ref, ref, "", files, scanned)
    return check_ref(page, ref, files, scanned)


def check_ref(page: str, ref: str, files: set[str], scanned: dict) -> str | None:
    """Check one reference found on a page (all paths relative to the site root)."""
    parts = urlsplit(ref)
    if parts.scheme or parts.netloc:
        return None if parts.scheme in {"http", "https", "mailto"} else f"unexpected link {ref!r}"
    if ref.startswith("/"):
        return f"root-absolute link {ref!r} breaks under a sub-path and from disk"
    return _check_target(page, ref, unquote(parts.path), parts.fragment, files, scanned)


def _check_target(
    page: str, ref: str, path: str, fragment: str, files: set[str], scanned: dict
) -> str | None:
    """Check that a relative path (and its fragment, if any) resolves inside the output."""
    target = posixpath.normpath(posixpath.join(posixpath.dirname(page), path)) if path else page
    if target == ".." or target.startswith("../"):
        return f"link {ref!r} leaves the site"
    if target not in files and f"{target}/index.html" in files:
        target = f"{target}/index.html"
    if target not in files:
        return f"broken link {ref!r}"
    if fragment and target in scanned and unquote(fragment) not in scanned[target][1]:
        return f"missing anchor {ref!r}"
    return None
