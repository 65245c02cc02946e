"""Whole-output checks: every internal link and asset reference resolves to a file."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

_LINK_ATTRS = {"href", "src", "action", "data-src"}


class _Refs(HTMLParser):
    """Collect URL-valued attributes and element ids from one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in _LINK_ATTRS:
                self.refs.append(value)
            elif name == "id":
                self.ids.add(value)


def _parse(path: Path) -> _Refs:
    parser = _Refs()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def broken_links(site_dir: Path, skip: set[str] = frozenset({"404.html"})) -> list[str]:
    """Return a message for every internal link, asset or fragment that does not resolve."""
    problems: list[str] = []
    parsed = {p: _parse(p) for p in sorted(site_dir.rglob("*.html"))}
    for page, refs in parsed.items():
        if page.relative_to(site_dir).as_posix() in skip:
            continue
        for ref in refs.refs:
            problem = _check(site_dir, page, ref, parsed)
            if problem:
                problems.append(f"{page.relative_to(site_dir)}: {problem}")
    return problems


def _check(site_dir: Path, page: Path, ref: str, parsed: dict[Path, _Refs]) -> str | None:
    parts = urlsplit(ref)
    if parts.scheme or parts.netloc:
        return None if parts.scheme in {"http", "https", "mailto"} else f"unexpected link {ref!r}"
    if ref.startswith("/"):
        return f"root-absolute link {ref!r} breaks under a sub-path and from disk"
    target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
    if not target.is_relative_to(site_dir.resolve()):
        return f"link {ref!r} leaves the site"
    if target.is_dir():
        target = target / "index.html"
    if not target.is_file():
        return f"broken link {ref!r}"
    if parts.fragment and target.suffix == ".html":
        ids = parsed[target].ids if target in parsed else _parse(target).ids
        if unquote(parts.fragment) not in ids:
            return f"missing anchor {ref!r}"
    return None
