"""Batch atomic writes (modes kept, temporaries never left behind, every file old or new) and
the content lock."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from filelock import FileLock, Timeout

from generator import fsutil
from generator.errors import LockedError
from generator.fsutil import atomic_write_many, content_lock


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_writes_new_and_existing_files_keeping_modes(tmp_path: Path) -> None:
    kept = tmp_path / "kept.yaml"
    kept.write_text("old", encoding="utf-8")
    kept.chmod(0o640)
    fresh = tmp_path / "sub" / "fresh.yaml"
    atomic_write_many([(kept, "new"), (fresh, b"bytes"), (tmp_path / "u.yaml", "\u00e9")])
    assert kept.read_text("utf-8") == "new" and _mode(kept) == 0o640
    assert fresh.read_bytes() == b"bytes"
    assert _mode(fresh) == 0o666 & ~_umask()
    assert (tmp_path / "u.yaml").read_text("utf-8") == "\u00e9"
    assert _hidden(tmp_path) == [] and _hidden(tmp_path / "sub") == []


def test_a_leftover_temporary_does_not_block_or_get_reused(tmp_path: Path) -> None:
    target = tmp_path / "a.yaml"
    leftover = tmp_path / ".a.yaml.tmp"
    leftover.write_text("someone else's", encoding="utf-8")
    atomic_write_many([(target, "new")])
    assert target.read_text("utf-8") == "new"
    assert _mode(target) == 0o666 & ~_umask()  # not the private mode of its random temporary
    assert leftover.read_text("utf-8") == "someone else's"


def test_a_failing_write_changes_nothing_and_cleans_up(tmp_path: Path) -> None:
    files = [tmp_path / f"{n}.yaml" for n in range(4)]
    for path in files:
        path.write_text("old", encoding="utf-8")
    with pytest.raises(TypeError):
        atomic_write_many([(files[0], "new"), (files[1], "new"), (files[2], 42)])  # type: ignore[list-item]
    assert [p.read_text("utf-8") for p in files] == ["old"] * 4
    assert _hidden(tmp_path) == []


def test_a_failing_rename_leaves_each_file_old_or_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [tmp_path / f"{n}.yaml" for n in range(5)]
    for path in files:
        path.write_text("old", encoding="utf-8")
    renamed = []
    real_replace = os.replace

    def replace(src: str, dst: Path) -> None:
        if len(renamed) == 2:
            raise OSError("disk gone")
        real_replace(src, dst)
        renamed.append(dst)

    monkeypatch.setattr(fsutil.os, "replace", replace)
    with pytest.raises(OSError, match="disk gone"):
        atomic_write_many([(path, "new") for path in files])
    assert [p.read_text("utf-8") for p in files] == ["new", "new", "old", "old", "old"]
    assert _hidden(tmp_path) == []


@pytest.mark.parametrize(("limit", "fsyncs", "syncs"), [(256, 3, 0), (2, 0, 1)])
def test_a_few_files_are_flushed_one_by_one_and_many_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int, fsyncs: int, syncs: int
) -> None:
    calls: list[str] = []
    real_fsync = os.fsync
    monkeypatch.setattr(fsutil, "FLUSH_EACH_MAX", limit)
    monkeypatch.setattr(fsutil.os, "fsync", lambda fd: calls.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(fsutil.os, "sync", lambda: calls.append("sync"))
    atomic_write_many([(tmp_path / f"{name}.yaml", name) for name in "abc"])
    assert (calls.count("fsync"), calls.count("sync")) == (fsyncs, syncs)
    assert [(tmp_path / f"{name}.yaml").read_text() for name in "abc"] == ["a", "b", "c"]


def test_tree_files_lists_nested_and_hidden_files_relative_to_the_folder(tmp_path: Path) -> None:
    for rel in ("index.html", "papers/a.html", "search/.hidden", "a/b/c.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    (tmp_path / "empty").mkdir()
    assert fsutil.tree_files(tmp_path) == {
        "index.html",
        "papers/a.html",
        "search/.hidden",
        "a/b/c.txt",
    }


@pytest.mark.parametrize(("durable", "fsyncs"), [(True, 1), (False, 0)])
def test_only_durable_single_writes_are_flushed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durable: bool, fsyncs: int
) -> None:
    calls: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(fsutil.os, "fsync", lambda fd: calls.append(fd) or real_fsync(fd))
    fsutil.atomic_write(tmp_path / "cache.pickle", b"data", durable=durable)
    assert len(calls) == fsyncs
    assert (tmp_path / "cache.pickle").read_bytes() == b"data"
    assert _hidden(tmp_path) == []


def test_the_content_lock_excludes_another_programs_lock(tmp_path: Path) -> None:
    """The content lock is the lock other tools (filelock) take on the same file."""
    lock_file = tmp_path / "content" / ".survey.lock"
    with content_lock(lock_file):
        with pytest.raises(Timeout):
            FileLock(str(lock_file)).acquire(timeout=0.2)
    with FileLock(str(lock_file)):
        with pytest.raises(LockedError, match="another ingest or build is running") as info:
            with content_lock(lock_file, timeout=0.2):
                pytest.fail("took a lock another program holds")
        assert str(lock_file) in str(info.value)
    with content_lock(lock_file, timeout=0.2):
        with pytest.raises(LockedError):  # a second holder in the same process waits too
            with content_lock(lock_file, timeout=0.1):
                pass
    with content_lock(lock_file, timeout=0.2):  # every holder let go
        pass


def test_staged_files_appear_only_on_commit_and_vanish_on_error(tmp_path: Path) -> None:
    from generator.fsutil import staged_writes

    kept = tmp_path / "kept.yaml"
    kept.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), staged_writes(2) as writes:
        writes.add(kept, "new")
        writes.add(tmp_path / "fresh.yaml", "new")
        assert kept.read_text(encoding="utf-8") == "old"
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            ".fresh.yaml.tmp",
            ".kept.yaml.tmp",
            "kept.yaml",
        ]
        raise RuntimeError("classification failed")
    assert [p.name for p in tmp_path.iterdir()] == ["kept.yaml"]
    with staged_writes(2) as writes:
        writes.add(kept, "new")
        assert writes.commit() == [kept]
    assert kept.read_text(encoding="utf-8") == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["kept.yaml"]


def test_output_files_are_written_whole_in_new_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = "é" * 300_000  # 600,000 bytes: more than one write when the system writes less
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, data[:65_536]))
    folders: set[str] = set()
    fsutil.write_output(tmp_path / "a" / "b" / "page.html", big, folders)
    fsutil.write_output(tmp_path / "a" / "b" / "other.html", b"<p>", folders)
    old = tmp_path / "old.txt"
    old.write_text("a longer previous content", encoding="utf-8")
    fsutil.write_output(old, "new")
    assert (tmp_path / "a" / "b" / "page.html").read_text("utf-8") == big
    assert (tmp_path / "a" / "b" / "other.html").read_bytes() == b"<p>"
    assert old.read_text("utf-8") == "new"
    assert folders == {str(tmp_path / "a" / "b")}
    assert _mode(tmp_path / "a" / "b" / "page.html") == 0o666 & ~_umask()
