"""Throw-away project folders: the repository's templates, static files and topics, no content.

`make_project` mirrors the one in tests/conftest.py (not imported, so the benchmark runs
without the test dependencies).
"""

from __future__ import annotations

import compileall
import hashlib
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def make_project(dest: Path, shipped_digests: bool = False, source: Path = REPO) -> Path:
    """Create a project at `dest` with an empty `content/digests/` (or the shipped digests).

    `source` is the repository, or a snapshot of it made by `snapshot`.
    """
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source / "templates", dest / "templates")
    shutil.copytree(source / "site_src", dest / "site_src")
    content = dest / "content"
    content.mkdir()
    shutil.copy(source / "content" / "topics.yaml", content / "topics.yaml")
    for folder in ("topics", "pages"):
        if (source / "content" / folder).is_dir():
            shutil.copytree(source / "content" / folder, content / folder)
    if (source / "survey.yaml").is_file():
        shutil.copy(source / "survey.yaml", dest / "survey.yaml")
    (content / "digests").mkdir()
    if shipped_digests:
        for path in sorted((source / "content" / "digests").glob("*.txt")):
            shutil.copy(path, content / "digests" / path.name)
    return dest


def snapshot(dest: Path) -> Path:
    """Copy the generator code, templates, static files and content settings to `dest`.

    Other people edit the repository while a long benchmark runs; measuring a frozen copy
    keeps every step on one version of the code (the generator's caches are keyed by a hash
    of its source, so an edit mid-run would otherwise turn a no-change rebuild into a full one).
    """
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "generator", dest / "generator", ignore=ignore)
    # Byte-compile it as installing a package does (MkDocs runs from compiled site-packages):
    # where PYTHONDONTWRITEBYTECODE is set, every child would otherwise compile the sources.
    compileall.compile_dir(dest / "generator", quiet=1)
    shutil.copytree(REPO / "templates", dest / "templates")
    shutil.copytree(REPO / "site_src", dest / "site_src")
    (dest / "content").mkdir()
    shutil.copy(REPO / "content" / "topics.yaml", dest / "content" / "topics.yaml")
    for folder in ("topics", "pages", "digests"):
        if (REPO / "content" / folder).is_dir():
            shutil.copytree(REPO / "content" / folder, dest / "content" / folder)
    if (REPO / "survey.yaml").is_file():
        shutil.copy(REPO / "survey.yaml", dest / "survey.yaml")
    return dest


def code_stamp(folder: Path) -> str:
    """Return a short hash of the generator sources in `folder` (identifies the code measured)."""
    digest = hashlib.sha256()
    for path in sorted((folder / "generator").rglob("*.py")):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    for path in sorted((folder / "site_src").rglob("*.js")):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def reset_project(root: Path, trash: Path) -> None:
    """Forget everything ingest and build produced (entries, ledger, caches, output).

    What goes is moved into `trash` (see `measure.set_aside`), not deleted.
    """
    from .measure import set_aside

    content = root / "content"
    set_aside(
        trash,
        content / "papers",
        content / "digests.yaml",
        content / ".survey.lock",
        root / ".survey-cache",
        root / "_site",
        root / "_site.old",
        *root.glob("._site.tmp-*"),
    )
