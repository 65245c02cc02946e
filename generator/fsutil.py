"""File-system safety: atomic writes, the content lock, paths that stay inside their folder."""

from __future__ import annotations

import contextlib
import fnmatch
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import ContentError, LockedError

try:
    import fcntl
except ImportError:  # not POSIX: the content lock is taken with filelock
    fcntl = None  # type: ignore[assignment]


def atomic_write(path: Path, data: bytes | str, durable: bool = True) -> None:
    """Write a file so readers see either the old or the new content, never a mix.

    `durable` also flushes it to disk before the rename (content, not caches, needs that).
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_output(path: Path, data: bytes | str, folders: set[str] | None = None) -> None:
    """Write one file of a build's fresh output folder, with plain system calls.

    Output files are written once into a folder no reader uses yet, so no temporary file is
    needed; `pathlib`'s text layer costs a third more per page. `folders` remembers the
    folders already made.
    """
    folder = os.path.dirname(path)
    if folders is None or folder not in folders:
        os.makedirs(folder, exist_ok=True)
        if folders is not None:
            folders.add(folder)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o666)
    try:
        write_all(fd, payload)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    """Write all of `data` to a file descriptor (one `os.write` may write less)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FLUSH_EACH_MAX = 256  # up to this many files, `fsync` each rather than `os.sync` all


def atomic_write_many(files: list[tuple[Path, str | bytes]]) -> None:
    """Write many files atomically: all temporaries first, one flush to disk, then renames."""
    with staged_writes(len(files)) as writes:
        for path, data in files:
            writes.add(path, data)
        writes.commit()


@contextlib.contextmanager
def staged_writes(count: int) -> Iterator[StagedWrites]:
    """Stage up to about `count` files, to be renamed into place only by `commit`.

    Whatever was staged and not renamed when the block ends (an error, an interrupt) is
    removed again, so each file is seen either old or new (never partial) whatever moment
    the process dies. A few files are flushed one by one; for many, one `os.sync` replaces a
    `fsync` per file, which dominated large ingests (but also flushes what others wrote).
    """
    writes = StagedWrites(flush_each=count <= FLUSH_EACH_MAX)
    try:
        yield writes
    finally:
        writes.discard()


class StagedWrites:
    """Temporaries written as their data comes, renamed into place together (`commit`).

    A temporary is named after its file (`.name.tmp`, created exclusively, so never
    someone else's), so the files can be staged while other work goes on.
    """

    def __init__(self, flush_each: bool) -> None:
        self._stager = _Stager(flush_each)
        self._staged: list[tuple[str, Path]] = []
        self._renamed = 0

    def add(self, path: Path, data: str | bytes) -> None:
        """Write `data` to a fresh temporary beside `path`."""
        self._stager.stage(path, data, self._staged)

    def commit(self) -> list[Path]:
        """Flush the temporaries to disk and rename each over its file; return the files."""
        if not self._stager.flush_each and self._staged:
            os.sync()
        for tmp, path in self._staged[self._renamed :]:
            os.replace(tmp, path)
            self._renamed += 1
        return [path for _, path in self._staged]

    def discard(self) -> None:
        """Remove the temporaries not renamed yet."""
        for tmp, _ in self._staged[self._renamed :]:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        del self._staged[self._renamed :]


class _Stager:
    """Write temporaries next to their targets, with the mode the target has or would get."""

    _FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)

    def __init__(self, flush_each: bool) -> None:
        self.new_mode = 0o666 & ~_umask()  # what `open(..., 0o666)` gives a new file
        self.folders: set[Path] = set()
        self.flush_each = flush_each

    def stage(self, path: Path, data: str | bytes, staged: list[tuple[str, Path]]) -> None:
        """Write `data` to a fresh temporary beside `path`; record it in `staged` first."""
        payload = data.encode("utf-8") if isinstance(data, str) else data
        folder, name = os.path.split(os.fspath(path))
        if folder not in self.folders:
            os.makedirs(folder or ".", exist_ok=True)
            self.folders.add(folder)
        fd, tmp, created = self._open(folder, name)
        staged.append((tmp, path))
        with os.fdopen(fd, "wb") as handle:
            mode = self._mode(path)
            if mode != created:
                os.fchmod(handle.fileno(), mode)
            handle.write(payload)
            if self.flush_each:
                handle.flush()
                os.fsync(handle.fileno())

    def _open(self, folder: str, name: str) -> tuple[int, str, int]:
        """Create the temporary; return its descriptor, its name and the mode it got."""
        tmp = os.path.join(folder, f".{name}.tmp")
        try:
            return os.open(tmp, self._FLAGS, 0o666), tmp, self.new_mode
        except FileExistsError:  # a leftover, or a name taken: fall back to a random one
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder or ".")
            return fd, tmp, 0o600

    def _mode(self, path: Path) -> int:
        try:
            return os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            return self.new_mode


@contextlib.contextmanager
def content_lock(lock_file: Path, timeout: float = 60.0) -> Iterator[None]:
    """Hold the lock that serialises ingests and builds on one content folder.

    On POSIX it is an advisory `flock` on the lock file, the lock `filelock` takes there too,
    taken here without importing `filelock` (about 25 ms, on every command).
    """
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        with _portable_lock(lock_file, timeout):
            yield
        return
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _flock(fd, lock_file, time.monotonic() + timeout)
        yield
    finally:
        os.close(fd)  # releases the lock


def _flock(fd: int, lock_file: Path, deadline: float) -> None:
    """Take an exclusive lock on `fd`, polling until `deadline`."""
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise _locked(lock_file) from None
            time.sleep(0.05)


@contextlib.contextmanager
def _portable_lock(lock_file: Path, timeout: float) -> Iterator[None]:
    """Hold the content lock where there is no `flock`, with `filelock`."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(lock_file))
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        raise _locked(lock_file) from None
    try:
        yield
    finally:
        lock.release()


def _locked(lock_file: Path) -> LockedError:
    return LockedError(f"{lock_file}: another ingest or build is running; try again")


def remove_stale_temporaries(folder: Path, pattern: str) -> None:
    """Delete temporaries a killed run left behind (call only while holding the lock)."""
    if not folder.is_dir():
        return
    for path in folder.glob(pattern):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def require_inside(path: Path, root: Path) -> Path:
    """Return the path, refusing one that a symlink leads outside `root`."""
    if path.exists() and not inside(path, root):
        raise ContentError(path, None, f"symlink points outside {root}; refusing to read it")
    return path


def inside(path: Path, folder: Path) -> bool:
    """Tell whether a path, with symlinks resolved, stays inside a folder."""
    return path.resolve().is_relative_to(folder.resolve())


def safe_files(folder: Path, pattern: str, root: Path) -> list[Path]:
    """List files matching a pattern, sorted, refusing symlinks that point outside `root`."""
    if not folder.is_dir():
        return []
    if not inside(folder, root):
        raise ContentError(folder, None, f"folder points outside {root}; refusing to read it")
    files = []
    with os.scandir(folder) as found:  # file types come with the listing: no stat per file
        entries = sorted(
            (e for e in found if fnmatch.fnmatchcase(e.name, pattern)), key=lambda e: e.name
        )
    for item in entries:
        if item.name.startswith("."):
            continue
        path = folder / item.name
        if item.is_symlink() and not inside(path, root):
            raise ContentError(path, None, f"symlink points outside {root}; refusing to read it")
        if item.is_file():
            files.append(path)
    return files


def tree_files(folder: Path) -> set[str]:
    """Return every file below a folder as a relative POSIX path (symlinks not followed)."""
    found = set()
    for root, _dirs, files in os.walk(folder):
        rel = os.path.relpath(root, folder).replace(os.sep, "/")
        prefix = "" if rel == "." else f"{rel}/"
        found.update(prefix + name for name in files)
    return found
