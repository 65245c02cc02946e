"""Shared fixtures: a throw-away copy of the project, and the real CLI."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

# One Chromium for the whole session, shared by every browser test module (a fixture imported
# into each module would start Playwright once per module, which Playwright refuses).
from browser import chromium_browser, page  # noqa: F401
from click.testing import CliRunner, Result

from generator.cli import main

EPOCH = "1767225600"  # 2026-01-01: SOURCE_DATE_EPOCH for reproducible test builds

REPO = Path(__file__).resolve().parent.parent
DIGESTS = sorted((REPO / "content" / "digests").glob("*.txt"))


def make_project(dest: Path, digests: bool = True, papers: bool = False) -> Path:
    """Copy templates, static files, topics and prose (and optionally digests/entries) to dest."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "templates", dest / "templates")
    shutil.copytree(REPO / "site_src", dest / "site_src")
    content = dest / "content"
    content.mkdir()
    shutil.copy(REPO / "content" / "topics.yaml", content / "topics.yaml")
    for folder in ("topics", "pages"):
        if (REPO / "content" / folder).is_dir():
            shutil.copytree(REPO / "content" / folder, content / folder)
    (content / "digests").mkdir()
    if digests:
        for path in DIGESTS:
            shutil.copy(path, content / "digests" / path.name)
    if papers and (REPO / "content" / "papers").is_dir():
        shutil.copytree(REPO / "content" / "papers", content / "papers")
        shutil.copy(REPO / "content" / "digests.yaml", content / "digests.yaml")
    return dest


@pytest.fixture(scope="session")
def shipped_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped digests built once per session with --strict (read-only for tests)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        mp.delenv("CI", raising=False)
        root = make_project(tmp_path_factory.mktemp("shipped") / "proj")
        result = CliRunner().invoke(main, ["--root", str(root), "build", "--strict", "-q"])
        assert result.exit_code == 0, result.output
    return root / "_site"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder holding the shipped digests and no entries yet."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.delenv("CI", raising=False)
    return make_project(tmp_path / "proj")


@pytest.fixture
def cli() -> Callable[..., Result]:
    """Run the real `survey` command in-process: cli(root, "ingest", ...)."""

    def run(root: Path, *args: str, ok: bool = True) -> Result:
        result = CliRunner().invoke(main, ["--root", str(root), *args], catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return run


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Return every file's bytes and mtime below a folder."""
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".survey.lock")
    }
