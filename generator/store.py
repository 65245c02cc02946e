"""The entry store: one YAML file per paper in `content/papers/`.

Each file has a tool-owned `ingest:` block and person-owned everything else (`curated:` and
any other keys). Ingest rewrites the `ingest:` block by splicing text, so comments, key order
and unknown keys a person added survive byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import cache, entrycache
from .errors import ContentError
from .fsutil import safe_files
from .models import Curated, Entry, Link, Observation, PartialDate, TopicMatch, Variant
from .yamlio import dumps, loads

HEAD_START = 180  # entries' worth of a build helper's other early work (see tail_share)
Cached = entrycache.Cached

HEADER = (
    "# Survey entry. `survey ingest` rewrites only the `ingest:` block below.\n"
    "# Edit `curated:` (title, note, topics, tags, hidden) and add any keys you like:"
    " they are kept.\n"
)
CURATED_DEFAULTS: dict[str, Any] = {
    "title": None,
    "note": "",
    "topics": None,
    "tags": [],
    "hidden": False,
}
_BLOCK_START = re.compile(r"^ingest:[ \t]*(#.*)?$")


@dataclass
class StoredEntry:
    """An entry as read from disk: its model, its parsed data and its exact text."""

    entry: Entry
    data: dict
    text: str
    path: Path


def _opt_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _date(value: Any) -> PartialDate | None:
    return PartialDate.from_iso(value) if isinstance(value, str) and value else None


def ingest_block(entry: Entry) -> dict:
    """Return the tool-owned `ingest:` mapping for an entry, in a fixed key order."""
    block: dict[str, Any] = {
        "title": entry.title,
        "abstract": entry.abstract,
        "authors": entry.authors,
        "date": entry.date.iso if entry.date else None,
        "upvotes": entry.upvotes,
        "links": [{"url": link.url, "kind": link.kind} for link in entry.links],
        "topics": [
            {"topic": m.topic, "score": m.score, "evidence": list(m.evidence)} for m in entry.topics
        ],
        "seen_in": [_observation_data(obs) for obs in entry.seen_in],
    }
    if entry.variants:
        block["variants"] = [{"abstract": v.abstract, "seen": v.seen} for v in entry.variants]
    return block


def _observation_data(obs: Observation) -> dict:
    return {
        "digest": obs.digest,
        "position": obs.position,
        "line": obs.line,
        "authors": obs.authors,
        "upvotes": obs.upvotes,
        "date": obs.date.iso if obs.date else None,
    }


def _line_of(text: str, key: str, start: int = 0) -> int | None:
    match = re.compile(rf"^[ \t]*{re.escape(key)}[ \t]*:", re.MULTILINE).search(text, start)
    return text.count("\n", 0, match.start()) + 1 if match else None


class _Validator:
    """Turn one file's parsed YAML into an Entry, failing with file and line."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.text = path, text
        self.start = 0  # where the block being checked begins, so `title` finds the right one

    def fail(self, key: str, message: str) -> None:
        """Raise a ContentError pointing at the line that holds `key`."""
        raise ContentError(self.path, _line_of(self.text, key, self.start), message)

    def mapping(self, value: Any, key: str) -> dict:
        """Require a mapping."""
        if not isinstance(value, dict):
            self.fail(key, f"`{key}` must be a mapping")
        return value

    def string(self, value: Any, key: str, optional: bool = False) -> str | None:
        """Require a string (or null when optional)."""
        if value is None and optional:
            return None
        if not isinstance(value, str):
            self.fail(key, f"`{key}` must be text, found {type(value).__name__}")
        return value

    def strings(self, value: Any, key: str, optional: bool = False) -> list[str] | None:
        """Require a list of strings (or null when optional)."""
        if value is None and optional:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(key, f"`{key}` must be a list of text items")
        return list(value)

    def entry(self, data: Any) -> Entry:
        """Validate a whole file."""
        data = (
            self.mapping(data, "ingest") if data is not None else self.fail("ingest", "empty entry")
        )
        block = self.mapping(data.get("ingest"), "ingest")
        try:
            return Entry(
                slug=self.path.stem, path=self.path, curated=self.curated(data), **self.owned(block)
            )
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            self.fail("ingest", f"malformed `ingest:` block ({exc}); delete the file and re-ingest")
            raise  # unreachable

    def owned(self, block: dict) -> dict:
        """Read the tool-owned fields."""
        return {
            "title": self.string(block.get("title"), "title"),
            "abstract": self.string(block.get("abstract"), "abstract"),
            "authors": _opt_int(block.get("authors")),
            "date": _date(block.get("date")),
            "upvotes": _opt_int(block.get("upvotes")),
            "links": tuple(Link(str(d["url"]), str(d["kind"])) for d in block.get("links") or ()),
            "topics": tuple(
                TopicMatch(
                    str(d["topic"]), float(d["score"]), tuple(map(str, d.get("evidence") or ()))
                )
                for d in block.get("topics") or ()
            ),
            "seen_in": tuple(_observation(d) for d in block.get("seen_in") or ()),
            "variants": tuple(
                Variant(str(d["abstract"]), str(d["seen"])) for d in block.get("variants") or ()
            ),
        }

    def curated(self, data: dict) -> Curated:
        """Read and check the person-owned fields."""
        raw = data.get("curated")
        if raw is None:
            return Curated()
        raw = self.mapping(raw, "curated")
        head = re.search(r"^curated[ \t]*:", self.text, re.MULTILINE)
        self.start = head.start() if head else 0
        hidden = raw.get("hidden", False)
        if not isinstance(hidden, bool):
            self.fail("hidden", f"`hidden` must be true or false, found {hidden!r}")
        return Curated(
            title=self.string(raw.get("title"), "title", optional=True) or None,
            note=self.string(raw.get("note") or "", "note") or "",
            topics=self.strings(raw.get("topics"), "topics", optional=True),
            tags=self.strings(raw.get("tags") or [], "tags") or [],
            hidden=hidden,
        )


def _observation(d: dict) -> Observation:
    return Observation(
        digest=str(d["digest"]),
        position=int(d["position"]),
        line=int(d["line"]),
        authors=_opt_int(d.get("authors")),
        upvotes=_opt_int(d.get("upvotes")),
        date=_date(d.get("date")),
    )


def read_entry(path: Path) -> StoredEntry:
    """Read and validate one entry file."""
    text = path.read_bytes().decode("utf-8-sig", errors="strict")
    data = loads(text, path)
    entry = _Validator(path, text).entry(data)
    return StoredEntry(entry=entry, data=data, text=text, path=path)


def load_store(
    papers_dir: Path,
    root: Path,
    cache_dir: Path | None = None,
    tail: Callable[[], Mapping[str, Cached]] | None = None,
) -> dict[str, StoredEntry]:
    """Read every entry, keyed by slug; any malformed file aborts with its location.

    With a cache folder, files whose size and mtime are unchanged are not parsed again.
    `tail` waits for the last files (`read_tail`), read by another process meanwhile; they
    are used where their size and mtime still match.
    """
    cached = entrycache.load(cache_dir) if cache_dir else {}
    fresh: dict[str, Cached] = {}
    store, misses = {}, 0
    paths = safe_files(papers_dir, "*.yaml", root)
    head, read = len(paths) - tail_share(len(paths)), cached
    for index, path in enumerate(paths):
        if index == head and tail is not None:  # this process read its share without error
            read = {**cached, **tail()}
        stamp = cache.file_stamp(path)
        hit = read.get(path.name)
        if hit is None or hit[0] != stamp:
            hit, misses = (stamp, _read_checked(path)), misses + 1
        elif hit is not cached.get(path.name):
            misses += 1  # read by the other process: new to the cache
        elif hit[1].path != path:  # the project moved: same file, new place
            hit, misses = (stamp, _moved(hit[1], path)), misses + 1
        fresh[path.name] = hit
        store[path.stem] = hit[1]
    if cache_dir and (misses or len(fresh) != len(cached)):
        entrycache.save(cache_dir, fresh)
    return store


def tail_share(count: int) -> int:
    """Return how many of `count` entry files `read_tail` reads in another process.

    About half, less what that process does first in a build (compiling templates, importing
    the index code) before the related papers it ranks are wanted: about HEAD_START entries'
    worth of work. A survey of up to 361 entries is read by the build's own process alone.
    """
    return max(0, count // 2 - HEAD_START)


def read_tail(papers_dir: Path, root: Path) -> dict[str, Cached]:
    """Read the last `tail_share` entry files, for a `load_store` in another process."""
    paths = safe_files(papers_dir, "*.yaml", root)
    tail = paths[len(paths) - tail_share(len(paths)) :]
    return {path.name: (cache.file_stamp(path), _read_checked(path)) for path in tail}


def _moved(stored: StoredEntry, path: Path) -> StoredEntry:
    return replace(stored, path=path, entry=replace(stored.entry, path=path))


def _read_checked(path: Path) -> StoredEntry:
    try:
        return read_entry(path)
    except UnicodeDecodeError as exc:
        raise ContentError(path, None, f"not UTF-8 text: {exc.reason}") from None


def render_new(entry: Entry) -> str:
    """Return the text of a brand-new entry file."""
    return HEADER + dumps({"ingest": ingest_block(entry)}) + _default_curated_block()


@lru_cache(maxsize=1)
def _default_curated_block() -> str:
    """Return the `curated:` block of a new entry (the same text for every entry)."""
    return dumps({"curated": dict(CURATED_DEFAULTS)})


def splice(text: str, entry: Entry) -> str:
    """Replace only the `ingest:` block of an existing file's text."""
    lines = text.splitlines(keepends=True)
    start = next(
        (i for i, line in enumerate(lines) if _BLOCK_START.match(line.rstrip("\r\n"))), None
    )
    block = dumps({"ingest": ingest_block(entry)})
    if start is None:
        return (text if text.endswith("\n") or not text else text + "\n") + block
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t"):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1  # leave blank lines before the next key where they were
    return "".join(lines[:start]) + block + "".join(lines[end:])


def entry_text(entry: Entry, previous: StoredEntry | None) -> str:
    """Return the file text for an entry, preserving everything person-owned."""
    if previous is None:
        return render_new(entry)
    if previous.data.get("ingest") == ingest_block(entry):
        return previous.text  # same data: keep the file as it is, whatever its formatting
    text = splice(previous.text, entry)
    if text == previous.text:
        return text
    check = {k: v for k, v in load_file_text(text, previous.path).items() if k != "ingest"}
    if check != {k: v for k, v in previous.data.items() if k != "ingest"}:
        raise ContentError(
            previous.path, None, "could not update the `ingest:` block safely; fix its layout"
        )
    return text


def load_file_text(text: str, path: Path) -> dict:
    """Parse entry text already in memory."""
    data = loads(text, path)
    return data if isinstance(data, dict) else {}
