"""Parse digest text dumps (spaced and compact layouts) into typed records.

A digest is page chrome (subscribe banners, a page date) followed by papers. Each paper is
a title line, an abstract line and, in the spaced layout, an optional metadata block
(`• 3 authors`, `·`, `Apr 15, 2023 2`). The spaced layout separates these with blank lines;
the compact one has none and glues the first title to the last chrome word
(`SubscribeSound propagation ...`). Both are recognised from structure, never file names.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import NamedTuple

from .errors import DigestParseError
from .models import MONTHS, Digest, Link, PartialDate, Record

CHROME = (
    "new",
    "get trending papers in your email inbox!",
    "get trending papers in your email inbox once a day!",
    "subscribe",
    "daily papers",
    "byak and the research community",
)
_GLUE_WORDS = ("Subscribe",)
_MONTH = r"(?P<month>" + "|".join(MONTHS) + r")[a-z]*\.?"
_DATE_RE = re.compile(
    _MONTH + r"\s+(?P<day>\d{1,2})(?:,\s*(?P<year>\d{4}))?(?:\s+(?P<up>\d{1,7}))?"
)
_AUTHORS_RE = re.compile(r"[•·*-]?\s*(?P<n>\d{1,5})\s+authors?", re.IGNORECASE)
_SEPARATOR_RE = re.compile(r"[·•|]")
_SENTENCE_BREAK = re.compile(r"[.!?]\s+[A-Z0-9(\"'“]")
# `https?://...`, or a code host (optionally after `www.`) not glued to a word, `/` or `.`
# before it. Every branch starts with a letter (the look-behind checks the one before it), so
# the regex engine skips quickly to the few places where a URL can start.
_URL_RE = re.compile(
    r"(?:https?://|w(?<![\w/.]w)ww\.(?:github|gitlab)\.com/|g(?<![\w/.]g)it(?:hub|lab)\.com/)"
    r"[^\s<>\"'`{}|\\^]+"
)
_CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "codeberg.org", "sourceforge.net")
_NBSP_CHARS = "\u00a0\u2007\u202f\ufeff"
_NBSP = dict.fromkeys(map(ord, _NBSP_CHARS), " ")
MAX_LINE = 100_000


class _Line(NamedTuple):
    number: int
    text: str


def read_digest_text(path: Path) -> str:
    """Read a digest as text, refusing empty, binary and non-UTF-8 files."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DigestParseError(path, None, f"cannot read digest: {exc.strerror}") from None
    if not data.strip():
        raise DigestParseError(path, 1, "empty digest: no papers to read")
    if b"\x00" in data[:65536]:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise DigestParseError(path, line, "binary file (NUL byte), not a text digest")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DigestParseError(
            path, line, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None


def _split_lines(text: str) -> list[_Line]:
    lines = re.split(r"\r\n|\r|\n", text) if "\r" in text else text.split("\n")
    if not any(space in text for space in _NBSP_CHARS):
        return [_Line(i, line.rstrip()) for i, line in enumerate(lines, start=1)]
    return [_Line(i, line.translate(_NBSP).rstrip()) for i, line in enumerate(lines, start=1)]


def _is_chrome(text: str) -> bool:
    stripped = text.strip()
    return stripped.casefold() in CHROME or _DATE_RE.fullmatch(stripped) is not None


def _unglue(line: _Line) -> _Line:
    for word in _GLUE_WORDS:
        rest = line.text.strip()[len(word) :]
        if line.text.strip().startswith(word) and rest[:1].isupper():
            return _Line(line.number, rest)
    return line


def _strip_chrome(lines: list[_Line]) -> tuple[str | None, list[_Line]]:
    """Drop the leading page chrome; return the page date it showed and the body."""
    page_date = None
    for index, line in enumerate(lines):
        if not line.text.strip():
            continue
        if _is_chrome(line.text):
            if _DATE_RE.fullmatch(line.text.strip()):
                page_date = line.text.strip()
            continue
        return page_date, [_unglue(line), *lines[index + 1 :]]
    return page_date, []


def _is_meta(text: str) -> bool:
    stripped = text.strip()
    return bool(
        _AUTHORS_RE.fullmatch(stripped)
        or _SEPARATOR_RE.fullmatch(stripped)
        or _DATE_RE.fullmatch(stripped)
    )


def looks_like_abstract(text: str) -> bool:
    """Tell whether a line reads as prose (several sentences) rather than a title."""
    breaks = _SENTENCE_BREAK.finditer(text)  # two are enough: stop looking there
    return (next(breaks, None) is not None and next(breaks, None) is not None) or len(text) > 1500


def _single_spaced(text: str) -> str:
    """Return text with every run of white space made one space, and none at either end."""
    if text.isprintable() and "  " not in text and text[:1] != " " != text[-1:]:
        return text  # its only white space is single inner spaces already
    return " ".join(text.split())


def _detect_layout(body: list[_Line]) -> str:
    texts = [line for line in body if line.text.strip()]
    if len(texts) >= 2 and texts[1].number == texts[0].number + 1:
        return "compact"
    return "spaced"


def extract_links(abstract: str) -> tuple[Link, ...]:
    """Find URLs in an abstract, strip trailing punctuation and classify them."""
    links: list[Link] = []
    if "http" not in abstract and ".com/" not in abstract:
        return ()
    for match in _URL_RE.finditer(abstract):
        url = _trim_url(match.group(0))
        if not url.startswith("http"):
            url = "https://" + url
        host = re.sub(r"^https?://(www\.)?", "", url).split("/")[0].lower()
        if "." not in host or any(link.url == url for link in links):
            continue
        kind = "code" if host in _CODE_HOSTS else "project"
        links.append(Link(url=url, kind=kind))
    return tuple(links)


def _trim_url(url: str) -> str:
    while url and url[-1] in ".,;:!?'\"*>]}":
        url = url[:-1]
    while url.endswith(")") and url.count(")") > url.count("("):
        url = url[:-1]
        url = url.rstrip(".,;:!?")
    return url


def _resolve_date(match: re.Match[str], digest_date: dt.date | None) -> PartialDate:
    month, day = MONTHS[match["month"][:3]], int(match["day"])
    if match["year"]:
        return PartialDate(int(match["year"]), month, day)
    if digest_date is None:
        return PartialDate(None, month, day)
    year = digest_date.year
    if (month, day) > (digest_date.month, digest_date.day):
        year -= 1
    return PartialDate(year, month, day)


class _Builder:
    """Walk body lines as title, abstract, optional metadata, and collect records."""

    def __init__(self, path: Path, digest_id: str, digest_date: dt.date | None) -> None:
        self.path, self.digest_id, self.digest_date = path, digest_id, digest_date
        self.records: list[Record] = []
        self.title: _Line | None = None
        self.current: dict | None = None

    def fail(self, line: int, message: str) -> None:
        """Raise the parse error for this digest."""
        raise DigestParseError(self.path, line, message)

    def text(self, line: _Line, following: _Line | None) -> None:
        """Take a title or abstract line depending on what is expected."""
        if len(line.text) > MAX_LINE:
            self.fail(line.number, f"line is longer than {MAX_LINE} characters")
        if self.title is None:
            self._take_title(line)
        elif following is not None and self._title_lacks_abstract(line, following):
            self.fail(self.title.number, f"title has no abstract: {self.title.text.strip()[:80]!r}")
        else:
            self._take_abstract(line)

    def _take_title(self, line: _Line) -> None:
        if looks_like_abstract(line.text):
            self.fail(line.number, "abstract with no title before it")
        self._finish()
        self.title = line

    def _title_lacks_abstract(self, line: _Line, following: _Line) -> bool:
        return not looks_like_abstract(line.text) and looks_like_abstract(following.text)

    def _take_abstract(self, line: _Line) -> None:
        assert self.title is not None
        abstract = _single_spaced(line.text)
        self.current = {
            "title": _single_spaced(self.title.text),
            "abstract": abstract,
            "line": self.title.number,
            "links": extract_links(abstract),
        }
        self.title = None

    def meta(self, line: _Line) -> None:
        """Attach a metadata line (authors, separator, date and upvotes) to the last paper."""
        if self.title is not None:
            self.fail(self.title.number, f"title has no abstract: {self.title.text.strip()[:80]!r}")
        if self.current is None:
            self.fail(line.number, "metadata line with no paper before it")
        stripped = line.text.strip()
        if match := _AUTHORS_RE.fullmatch(stripped):
            self.current["authors"] = int(match["n"])
        elif match := _DATE_RE.fullmatch(stripped):
            try:
                self.current["date"] = _resolve_date(match, self.digest_date)
            except ValueError as exc:
                self.fail(line.number, f"bad date {stripped!r}: {exc}")
            if match["up"]:
                self.current["upvotes"] = int(match["up"])

    def _finish(self) -> None:
        if self.current is not None:
            position = len(self.records) + 1
            self.records.append(Record(digest=self.digest_id, position=position, **self.current))
            self.current = None

    def close(self) -> tuple[Record, ...]:
        """Finish the last paper and return every record."""
        if self.title is not None:
            self.fail(
                self.title.number,
                f"title has no abstract at end of file: {self.title.text.strip()[:80]!r}",
            )
        self._finish()
        return tuple(self.records)


def parse_text(
    text: str, path: Path, digest_id: str | None = None, digest_date: dt.date | None = None
) -> Digest:
    """Parse digest text; raise DigestParseError naming the file and line on bad input."""
    digest_id = digest_id or path.stem
    page_date, body = _strip_chrome(_split_lines(text))
    if not body:
        raise DigestParseError(path, 1, "no papers found: only page chrome or blank lines")
    layout = _detect_layout(body)
    builder = _Builder(path, digest_id, digest_date)
    content = [line for line in body if line.text.strip()]
    metas = [_is_meta(line.text) for line in content]
    for line, meta, following in zip(content, metas, _following(content, metas), strict=True):
        if meta:
            builder.meta(line)
        else:
            builder.text(line, following)
    records = builder.close()
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Digest(digest_id, path, layout, page_date, records, sha)


def _following(content: list[_Line], metas: list[bool]) -> list[_Line | None]:
    """Return, for each line, the next line that is not metadata (None at the end)."""
    after: list[_Line | None] = [None] * len(content)
    upcoming = None
    for index in range(len(content) - 1, -1, -1):
        after[index] = upcoming
        if not metas[index]:
            upcoming = content[index]
    return after


def parse_digest(path: Path, digest_date: dt.date | None = None) -> Digest:
    """Read and parse one digest file."""
    return parse_text(read_digest_text(path), path, path.stem, digest_date)
