"""A small stand-in for Netlify's CDN: serve a built site with the rules of netlify.toml.

Applies every `[[headers]]` rule whose `for` path matches (values of one header name from
several rules are combined with ", ", as an HTTP cache would read repeated fields) and
answers unknown paths with the `[[redirects]]` 404 page (Netlify's default: /404.html).

Path patterns follow Netlify's documented syntax: `*` matches anything, slashes included
(alone as the last segment it also matches the bare folder), `:name` matches one segment,
matching is case-insensitive and ignores one trailing slash.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from browser import serve_handler


def path_regexp(pattern: str) -> re.Pattern[str]:
    """Compile a Netlify `for`/`from` path pattern."""
    parts = [part.strip() for part in pattern.split("/") if part.strip()]
    out = []
    for index, part in enumerate(parts):
        if part == "*" and index == len(parts) - 1:
            out.append("(?:/.*)?")
        elif part.startswith(":"):
            out.append("/[^/]+")
        else:
            out.append("/" + ".*".join(re.escape(piece) for piece in part.split("*")))
    return re.compile("^" + "".join(out) + "/?$", re.IGNORECASE)


@dataclass(frozen=True)
class Rules:
    """The headers and 404 rules of one netlify.toml."""

    headers: tuple[tuple[str, re.Pattern[str], dict[str, str]], ...]
    not_found: tuple[tuple[re.Pattern[str], str], ...]

    def matching(self, path: str) -> list[tuple[str, dict[str, str]]]:
        """Return (pattern, values) of every header rule that applies to a path."""
        return [(raw, values) for raw, regexp, values in self.headers if regexp.match(path)]

    def headers_for(self, path: str) -> dict[str, str]:
        """Return the response headers for a path, header names lowercased."""
        merged: dict[str, str] = {}
        for _raw, values in self.matching(path):
            for name, value in values.items():
                key = name.lower()
                merged[key] = f"{merged[key]}, {value}" if key in merged else value
        return merged

    def not_found_page(self, path: str) -> str:
        """Return the page served with status 404 for an unknown path."""
        for regexp, target in self.not_found:
            if regexp.match(path):
                return target
        return "/404.html"


def load_rules(config: Path) -> Rules:
    """Read the header and 404 rules from a netlify.toml."""
    data: dict[str, Any] = tomllib.loads(config.read_text(encoding="utf-8"))
    headers = tuple(
        (rule["for"], path_regexp(rule["for"]), dict(rule.get("values", {})))
        for rule in data.get("headers", [])
    )
    not_found = tuple(
        (path_regexp(rule["from"]), rule["to"])
        for rule in data.get("redirects", [])
        if rule.get("status") == 404
    )
    return Rules(headers, not_found)


def make_handler(site: Path, rules: Rules) -> type[SimpleHTTPRequestHandler]:
    """Return a handler class serving one site folder under one set of rules."""

    class Handler(SimpleHTTPRequestHandler):
        """Serve files with the matching headers; unknown paths get the 404 page."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            """Serve files from the site folder."""
            super().__init__(*args, directory=str(site), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Keep test output clean."""

        def do_GET(self) -> None:  # noqa: N802
            """Answer like the CDN."""
            self._answer(head=False)

        def do_HEAD(self) -> None:  # noqa: N802
            """Answer like GET, without the body."""
            self._answer(head=True)

        def _answer(self, head: bool) -> None:
            """Send the file (or the 404 page) with the headers of every matching rule."""
            path = unquote(urlsplit(self.path).path)
            file = self._file(path)
            status = 200
            if file is None:
                status, file = 404, self._file(rules.not_found_page(path))
            body = file.read_bytes() if file else b"Not Found"
            self.send_response(status)
            self.send_header("Content-Type", self.guess_type(str(file or "x.txt")))
            self.send_header("Content-Length", str(len(body)))
            for name, value in rules.headers_for(path).items():
                self.send_header(name, value)
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _file(self, path: str) -> Path | None:
            """Return the file a URL path names (folders mean their index.html)."""
            local = Path(self.translate_path(path))
            if local.is_dir():
                local = local / "index.html"
            return local if local.is_file() else None

    return Handler


@contextmanager
def netlify_server(site: Path, config: Path) -> Iterator[str]:
    """Serve a built site on 127.0.0.1 (a free port) like Netlify; yield its base URL."""
    with serve_handler(make_handler(site, load_rules(config))) as url:
        yield url
