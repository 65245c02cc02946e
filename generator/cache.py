"""Build caches in `.survey-cache/`: parsed entries, topic scores, page keys, input stamps.

The cache only ever saves work: every value is keyed by what it was computed from, a
version mismatch or a damaged file means an empty cache, and deleting the folder is safe.
It is private to this checkout (git-ignored) and is never published.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import __version__
from .fsutil import atomic_write

_PACKAGE = Path(__file__).resolve().parent


def _code_stamp() -> str:
    """Fingerprint the generator's own source, so a code change invalidates every cache."""
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


CODE_STAMP = _code_stamp()


def load(cache_dir: Path, name: str) -> dict:
    """Return a named cache, or an empty one if it is missing, stale or unreadable."""
    path = cache_dir / f"{name}.pickle"
    try:
        with path.open("rb") as handle:
            stamp, value = pickle.load(handle)  # noqa: S301 - our own private cache file
    except (
        OSError,
        EOFError,
        pickle.UnpicklingError,
        ValueError,
        TypeError,
        AttributeError,
        ImportError,
    ):
        return {}
    return value if stamp == CODE_STAMP and isinstance(value, dict) else {}


def exists(cache_dir: Path, name: str) -> bool:
    """Tell whether a named cache was saved (it may still be stale)."""
    return (cache_dir / f"{name}.pickle").is_file()


def save(cache_dir: Path, name: str, value: dict) -> None:
    """Write a named cache atomically; failures only cost speed next time."""
    try:
        data = pickle.dumps((CODE_STAMP, value), protocol=5)
        atomic_write(cache_dir / f"{name}.pickle", data, durable=False)  # losing it costs time only
    except OSError:
        pass


def file_stamp(path: Path) -> tuple[int, int]:
    """Return what identifies a file's version cheaply: its size and modification time."""
    info = path.stat()
    return (info.st_size, info.st_mtime_ns)


def tree_stamp(folders: Iterable[Path], extra: Any = None) -> str:
    """Fingerprint every file below some folders (names, sizes, mtimes) plus extra data.

    Names are taken relative to their folder, so moving a project keeps its stamps.
    """
    digest = hashlib.sha256(repr((CODE_STAMP, extra)).encode())
    for number, folder in enumerate(folders):
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            rel = os.path.relpath(root, folder)
            for name in sorted(files):
                if name.startswith(".survey.lock"):
                    continue
                info = os.stat(os.path.join(root, name))  # no Path per file: 10,000s of files
                stamp = (info.st_size, info.st_mtime_ns)  # as `file_stamp` gives
                digest.update(f"{number}\0{rel}/{name}\0{stamp}\n".encode())
    return digest.hexdigest()


def content_key(*parts: Any) -> str:
    """Hash values that fully determine a result, through their repr (stable across runs)."""
    return hashlib.sha256(repr(parts).encode("utf-8", "surrogatepass")).hexdigest()
