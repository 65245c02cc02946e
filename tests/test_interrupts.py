"""Failures and races: killed ingests and builds never leave a half-written entry or site, and
the content lock serialises runs.

Each kill test copies a prepared project, starts the real `survey` command in its own process
group and SIGKILLs the group at several moments: after a short delay, while temporary files
are being written, while they are renamed into place, and right after the site swap. It then
checks every file against the two versions it may legitimately hold. Kill points follow the
command's progress on disk rather than the clock, so they land in the same phase on a fast
or a busy machine.
"""

from __future__ import annotations

import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest
from click.testing import CliRunner
from filelock import FileLock

from generator import build as build_module
from generator.checks import broken_links
from generator.cli import main
from generator.store import read_entry
from generator.yamlio import dumps, load_file
from tests.conftest import make_project, snapshot

PAPERS = 200
WORDS = (
    "neural network pruning operator hypernetwork learning gradient sparse weight layer model "
    "training data graph attention kernel"
).split()


def synthetic_digest(version: int, papers: int = PAPERS) -> str:
    """A spaced-layout digest; versions differ only in upvotes, so every entry changes."""
    rng = random.Random(7)
    parts = ["new", "Subscribe", "Daily Papers"]
    for i in range(papers):
        title = " ".join(rng.choice(WORDS) for _ in range(6)).capitalize() + f" number {i}"
        body = " ".join(rng.choice(WORDS) for _ in range(30))
        parts += [
            title,
            f"We study {body}. It improves results by {i} points. Code: https://github.com/x/p{i}.",
        ]
        parts += ["  • 3 authors", "·", f"Apr {i % 28 + 1}, 2023 {i % 50 + version * 100}"]
    return "\n\n".join(parts) + "\n"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["SOURCE_DATE_EPOCH"] = "1767225600"
    return env


def _command(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "generator.cli", "--root", str(root), *args, "-q"]


def _run(root: Path, *args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        _command(root, *args), env=_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return time.perf_counter() - started


def _start(root: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        _command(root, *args),
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the kill reaches build workers too
    )


def _kill_when(proc: subprocess.Popen, ready, limit: float = 120.0) -> bool:  # noqa: ANN001
    """SIGKILL the command's process group once `ready()` is true; return whether it was running.

    `ready` is polled every few milliseconds: a delay (time-based kills) or a count of files
    the command has written so far (kills placed inside its write phase).
    """
    deadline = time.monotonic() + limit
    while proc.poll() is None and not ready():
        assert time.monotonic() < deadline, "the command never reached its kill point"
        time.sleep(0.003)
    running = proc.poll() is None
    if running:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()
    return running


def _after(seconds: float):  # noqa: ANN202
    due = time.monotonic() + seconds
    return lambda: time.monotonic() >= due


def _written_since(folder: Path, since_ns: int, at_least: int, staged: bool = False):  # noqa: ANN202
    """True once `at_least` files below `folder` were modified after `since_ns`.

    Counts files in place, or (`staged`) only hidden temporaries not yet renamed into place.
    """

    def ready() -> bool:
        count = 0
        for dirpath, dirs, files in os.walk(folder):
            if Path(dirpath) == folder:  # inputs and caches are not the output being written
                dirs[:] = [d for d in dirs if d not in {"content", ".survey-cache"}]
            for name in files:
                if name.startswith(".") != staged:
                    continue
                try:
                    count += os.stat(os.path.join(dirpath, name)).st_mtime_ns > since_ns
                except FileNotFoundError:
                    pass
        return count >= at_least

    return ready


def _texts(root: Path) -> dict[str, bytes]:
    papers = root / "content" / "papers"
    files = {p.name: p.read_bytes() for p in papers.iterdir() if not p.name.startswith(".")}
    files["../digests.yaml"] = (root / "content" / "digests.yaml").read_bytes()
    return files


def _copy(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, symlinks=True)
    return dest


@dataclass
class States:
    base: Path
    old: Path  # v1 ingested, curated by hand, built: the "previous good" state
    mid: Path  # old + v2 ingested, not built: entries new, site old
    old_texts: dict[str, bytes]
    new_texts: dict[str, bytes]
    old_site: dict[str, bytes]
    new_pages: set[str]
    ingest_seconds: float


def _site_bytes(folder: Path) -> dict[str, bytes]:
    return {rel: data for rel, (data, _mtime) in snapshot(folder).items()}


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory) -> States:
    base = tmp_path_factory.mktemp("interrupts")
    old = make_project(base / "old", digests=False)
    digest = old / "content" / "digests" / "big.txt"
    digest.write_text(synthetic_digest(1), encoding="utf-8")
    _run(old, "ingest")
    for n, path in enumerate(sorted((old / "content" / "papers").glob("*.yaml"))[:40]):
        data = load_file(path)  # a curator's edits, which must survive every interrupted ingest
        curated = {"note": f"Curated note {n}: keep me.", "tags": ["kept"], "hidden": False}
        path.write_text(
            dumps({"ingest": data["ingest"]}) + dumps({"curated": curated}), encoding="utf-8"
        )
    _run(old, "build", "--no-ingest")
    mid = _copy(old, base / "mid")
    (mid / "content" / "digests" / "big.txt").write_text(synthetic_digest(2), encoding="utf-8")
    reference = _copy(old, base / "reference")
    (reference / "content" / "digests" / "big.txt").write_text(
        synthetic_digest(2), encoding="utf-8"
    )
    ingest_seconds = min(_run(reference, "ingest"), _run(mid, "ingest"))
    new = _copy(mid, base / "new")
    _run(new, "build", "--no-ingest")
    states = States(
        base=base,
        old=old,
        mid=mid,
        old_texts=_texts(old),
        new_texts=_texts(reference),
        old_site=_site_bytes(old / "_site"),
        new_pages=_pages(new / "_site"),
        ingest_seconds=ingest_seconds,
    )
    assert _texts(mid) == states.new_texts, "ingest is not deterministic across project folders"
    changed = [k for k in states.old_texts if states.old_texts[k] != states.new_texts[k]]
    assert len(changed) == PAPERS + 1, "every entry and the ledger should change from v1 to v2"
    assert _site_bytes(new / "_site") != states.old_site
    _assert_complete(new / "_site", states)
    return states


def _pages(site: Path) -> set[str]:
    return {p.relative_to(site).as_posix() for p in site.rglob("*.html")}


def _assert_complete(site: Path, states: States) -> None:
    """A finished build: every page there and whole, every link resolving.

    (Compared by shape rather than bytes: other people may change templates mid-run.)
    """
    assert _pages(site) == states.new_pages
    for page in site.rglob("*.html"):
        assert page.read_bytes().rstrip().endswith(b"</html>"), page
    assert broken_links(site) == []


def _assert_each_file_old_or_new(root: Path, states: States) -> tuple[int, int]:
    texts = _texts(root)
    assert texts.keys() == states.old_texts.keys()
    counts = [0, 0]
    for name, data in texts.items():
        assert data in (states.old_texts[name], states.new_texts[name]), (
            f"{name} is neither version"
        )
        counts[data == states.new_texts[name]] += 1
    for path in (root / "content" / "papers").glob("*.yaml"):
        if not path.name.startswith("."):
            read_entry(path)  # parses and validates
    leftovers = [p.name for p in (root / "content" / "papers").iterdir() if p.name.startswith(".")]
    assert all(name.endswith(".tmp") for name in leftovers), leftovers  # hidden, ignored by readers
    return counts[0], counts[1]


@pytest.mark.slow
def test_killed_ingest_leaves_every_entry_old_or_new(states: States) -> None:
    # Kills by time (start-up, reading), while temporaries are staged, and while they are
    # renamed into place (after n entries are in place).
    moments = [("time", 0.05), ("staged", PAPERS // 2)]
    moments += [("files", n) for n in (1, PAPERS // 2, PAPERS)]
    outcomes = []
    for k, (kind, value) in enumerate(moments):
        root = _copy(states.old, states.base / f"ingest-kill-{k}")
        (root / "content" / "digests" / "big.txt").write_text(synthetic_digest(2), encoding="utf-8")
        since = time.time_ns()
        proc = _start(root, "ingest")
        ready = (
            _after(value)
            if kind == "time"
            else _written_since(root / "content", since, value, staged=kind == "staged")
        )
        killed = _kill_when(proc, ready)
        outcomes.append((kind, value, killed, _assert_each_file_old_or_new(root, states)))
        if k in (0, len(moments) - 1) or not killed:  # the next ingest finishes the job
            _run(root, "ingest")
            assert _texts(root) == states.new_texts
        shutil.rmtree(root)
    print("ingest kills (when, killed, (files old, files new)):", outcomes)
    assert any(o[2] for o in outcomes), "every ingest finished before its kill"


@pytest.mark.slow
def test_killed_build_leaves_the_previous_site_intact(states: States) -> None:
    total = len(states.old_site)
    moments = [
        ("time", 0.05),
        ("files", 1),
        ("files", total // 2),
        ("files", total),
        ("swapped", 0),
    ]
    outcomes = []
    for k, (kind, value) in enumerate(moments):
        root = _copy(states.mid, states.base / f"build-kill-{k}")
        since = time.time_ns()
        proc = _start(root, "build", "--no-ingest")
        if kind == "time":
            ready = _after(value)
        elif kind == "files":  # counted in the temp folder (or in _site, if written in place)
            ready = _written_since(root, since, value)
        else:  # after the swap, while the old site is being deleted
            ready = (root / "_site.old").exists
        killed = _kill_when(proc, ready)
        site, old = root / "_site", root / "_site.old"
        if site.is_dir():
            seen = _site_bytes(site)
            state = "old" if seen == states.old_site else "new"
            if state == "new":  # the kill came after the swap: the new site must be whole
                _assert_complete(site, states)
        else:
            state = "window"  # killed between the two renames: only _site.old holds the old site
            assert _site_bytes(old) == states.old_site
        leftovers = [p.name for p in root.iterdir() if p.name.startswith("._site.tmp-")]
        outcomes.append((kind, value, killed, state, len(leftovers)))
        if k in (0, len(moments) - 1) or state == "window":
            _run(root, "build", "--no-ingest")
            _assert_complete(site, states)
            assert not old.exists()
        shutil.rmtree(root)
    print("build kills (when, killed, site seen, temp folders left):", outcomes)
    assert any(o[2] for o in outcomes)


def test_a_kill_between_the_two_renames_is_recovered_by_the_next_build(states: States) -> None:
    """Killed mid-swap: with the atomic exchange `_site` is always whole; with two renames
    (systems without renameat2) a reader briefly sees no `_site`, and the next build repairs it."""
    root = _copy(states.mid, states.base / "between-renames")
    real_replace = os.replace
    calls: list[tuple[str, str]] = []

    class Killed(BaseException):
        """Stands in for SIGKILL at this exact point."""

    def dying_replace(src, dst) -> None:  # noqa: ANN001
        if Path(dst).name in {"_site", "_site.old"}:  # (cache files are replaced too)
            calls.append((Path(src).name, Path(dst).name))
            if Path(dst).name == "_site" and len(calls) >= 2:
                raise Killed  # two renames: killed between them
            if Path(dst).name == "_site.old" and Path(src).name.startswith("._site.tmp-"):
                raise Killed  # atomic exchange: killed right after it, moving the old site aside
        real_replace(src, dst)

    with (
        mock.patch.object(build_module.os, "replace", dying_replace),
        pytest.MonkeyPatch.context() as mp,
    ):
        mp.setenv("SOURCE_DATE_EPOCH", "1767225600")
        with pytest.raises(Killed):
            CliRunner().invoke(
                main, ["--root", str(root), "build", "--no-ingest", "-q"], catch_exceptions=False
            )
    if calls[:1] != [("_site", "_site.old")]:
        # The atomic exchange put the new site in place before the old one was moved aside:
        # killed at that point, a reader sees the new, complete site and never nothing.
        assert calls[0][1] == "_site.old" and calls[0][0].startswith("._site.tmp-"), calls
        _assert_complete(root / "_site", states)
        shutil.rmtree(root)
        return
    assert not (root / "_site").exists()  # the window: what a reader sees is nothing
    assert _site_bytes(root / "_site.old") == states.old_site
    _run(root, "build", "--no-ingest")
    _assert_complete(root / "_site", states)
    assert not (root / "_site.old").exists()
    shutil.rmtree(root)


def _file_size_limit(limit: int):  # noqa: ANN202
    """preexec_fn: files may not grow past `limit` bytes (a disk that fills up mid-write)."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write with EFBIG, don't die
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def _run_limited(root: Path, limit: int, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        _command(root, *args),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_file_size_limit(limit),
    )


def test_a_write_failing_midway_through_ingest_changes_no_entry(states: States) -> None:
    """A full disk cuts a file short: with atomic writes no entry is left truncated."""
    root = _copy(states.old, states.base / "disk-full-ingest")
    (root / "content" / "digests" / "big.txt").write_text(synthetic_digest(2), encoding="utf-8")
    sizes = sorted(len(v) for k, v in states.new_texts.items() if k.endswith(".yaml"))
    done = _run_limited(root, sizes[len(sizes) // 2], "ingest")
    assert done.returncode != 0, "the size limit did not bite"
    old, new = _assert_each_file_old_or_new(root, states)
    assert new == 0, "an ingest that failed must not have replaced some entries"
    shutil.rmtree(root)


def test_a_write_failing_midway_through_build_keeps_the_old_site(states: States) -> None:
    root = _copy(states.mid, states.base / "disk-full-build")
    largest = max(len(data) for data in states.old_site.values())
    done = _run_limited(root, largest - 1, "build", "--no-ingest")
    assert done.returncode != 0, "the size limit did not bite"
    assert _site_bytes(root / "_site") == states.old_site
    assert not (root / "_site.old").exists()
    assert not [p for p in root.iterdir() if p.name.startswith("._site.tmp-")], "temp folder left"
    shutil.rmtree(root)


# --------------------------------------------------------------------------- the lock


def test_two_ingests_at_once_both_succeed_and_agree(states: States) -> None:
    root = _copy(states.old, states.base / "two-at-once")
    (root / "content" / "digests" / "big.txt").write_text(synthetic_digest(2), encoding="utf-8")
    procs = [_start(root, "ingest"), _start(root, "ingest")]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    assert _texts(root) == states.new_texts
    shutil.rmtree(root)


def test_an_ingest_waits_for_the_lock_holder(states: States) -> None:
    root = _copy(states.old, states.base / "held-lock")
    (root / "content" / "digests" / "big.txt").write_text(synthetic_digest(2), encoding="utf-8")
    lock = FileLock(str(root / "content" / ".survey.lock"))
    with lock:
        proc = _start(root, "ingest")
        time.sleep(max(2.0, states.ingest_seconds * 0.5))
        assert proc.poll() is None, "ingest ran while another process held the content lock"
        assert _texts(root) == states.old_texts, "ingest wrote while another process held the lock"
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()
    assert _texts(root) == states.new_texts
    shutil.rmtree(root)


def test_a_build_and_an_ingest_at_once_give_a_complete_site(states: States) -> None:
    root = _copy(states.mid, states.base / "build-and-ingest")
    procs = [_start(root, "build", "--no-ingest"), _start(root, "ingest")]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    assert _texts(root) == states.new_texts
    _assert_complete(root / "_site", states)
    shutil.rmtree(root)
