"""The parsed-entry cache: a base file, a small delta file, and the copy this process holds.

Parsing 10,000 YAML entries takes seconds; unpickling them takes a fraction of that, and a
build that follows an ingest in the same process reuses the copy already in memory. A build
that changed a few entries writes only those to the delta file instead of pickling every
entry again; the base is rewritten once the delta grows past a share of the store.

Every cached entry carries the size and mtime of the file it was read from and is used only
while they match, so any mix of base, delta and held copy gives the same entries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import cache

BASE, DELTA = "entries", "entries-delta"
DELTA_SHARE = 0.1  # rewrite the base once the delta holds more than this share of entries
DELTA_MIN = 200  # ...and more than this many entries

Cached = tuple[tuple[int, int], Any]  # (file stamp, StoredEntry)


@dataclass
class _State:
    base: dict[str, Cached]
    delta: dict[str, Cached] = field(default_factory=dict)

    def merged(self) -> dict[str, Cached]:
        return {**self.base, **self.delta}


_HELD: dict[Path, _State] = {}


def load(cache_dir: Path) -> dict[str, Cached]:
    """Return the cached entries by file name (held in memory after the first load)."""
    state = _HELD.get(cache_dir)
    if state is None:
        state = _State(cache.load(cache_dir, BASE), cache.load(cache_dir, DELTA))
        _HELD[cache_dir] = state
    return state.merged()


def cold(cache_dir: Path) -> bool:
    """Tell whether no entry is cached (on disk or in this process): all will be parsed."""
    return cache_dir not in _HELD and not cache.exists(cache_dir, BASE)


def save(cache_dir: Path, fresh: dict[str, Cached]) -> None:
    """Keep the current entries: write the delta when it stays small, else a new base."""
    state = _HELD.get(cache_dir) or _State({})
    delta = {
        name: value
        for name, value in fresh.items()
        if state.base.get(name) is not value  # new, changed, or moved since the base
    }
    gone = len(state.base.keys() - fresh.keys())
    if len(delta) + gone > max(DELTA_MIN, DELTA_SHARE * len(fresh)):
        cache.save(cache_dir, BASE, fresh)
        cache.save(cache_dir, DELTA, {})
        _HELD[cache_dir] = _State(dict(fresh))
    elif delta.keys() != state.delta.keys() or any(
        state.delta[name] is not value for name, value in delta.items()
    ):
        cache.save(cache_dir, DELTA, delta)
        _HELD[cache_dir] = _State(state.base, delta)


def forget() -> None:
    """Drop the copies held in memory (the files stay)."""
    _HELD.clear()
