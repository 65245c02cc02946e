"""Paths stay inside their folders: hostile titles make safe, unique, stable file names, and
symlinks that lead out of `content/` are refused with a clear error.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from generator.slug import MAX_SLUG, slugify, title_key
from generator.yamlio import load_file
from tests.conftest import make_project, snapshot

LONG = " ".join(["Verylongword"] * 31)[:400]
HOSTILE_TITLES = [
    "../../etc/passwd",
    "..",
    "...",
    "!!!",
    "???",
    "∑∫∂",
    "🚀🔥",
    "🔥",
    "CON",
    "nul",
    "aux.txt",
    "COM1",
    "index",
    "search",
    "\u202e",
    LONG,
    LONG[:-1] + "z",
    "/",
    "\\",
    'a/b\\c:d*e?f"g<h>i|j',
    ".hidden",
    "-dash-",
    "Résumé of α-Net",
    "Resume of β-Net",
]
# Same paper (same title key) written differently: case, punctuation, spacing, Unicode form.
SAME_PAPER = [
    ("Deep Nets", "deep nets!", "DEEP-NETS"),
    ("con", "Con."),
    ("Résumé of α-Net", "RE\u0301SUME\u0301 of α-net"),
]
WINDOWS_RESERVED = {
    "con",
    "prn",
    "aux",
    "nul",
    *(f"com{i}" for i in range(10)),
    *(f"lpt{i}" for i in range(10)),
}
SAFE_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def digest_text(titles: list[str]) -> str:
    """Return a spaced-layout digest with one paper per title."""
    parts = ["new", "Subscribe"]
    for n, title in enumerate(titles):
        parts += [
            title,
            f"Abstract number {n} about a paper. It has two sentences. And a third one.",
        ]
    return "\n\n".join(parts) + "\n"


def check_name(stem: str) -> None:
    """A file-name stem is lowercase ASCII words, bounded, never empty, never reserved."""
    assert SAFE_NAME.fullmatch(stem), stem
    assert 0 < len(stem) <= MAX_SLUG, stem
    assert stem.split(".")[0] not in WINDOWS_RESERVED, stem


def test_hostile_titles_make_safe_bounded_distinct_slugs() -> None:
    keys: dict[str, str] = {}
    for title in HOSTILE_TITLES + [t for group in SAME_PAPER for t in group]:
        slug = slugify(title)
        check_name(slug)
        assert slugify(title) == slug  # deterministic
        key = title_key(title)
        assert keys.setdefault(slug, key) == key, f"{title!r} collides with another paper at {slug}"
    for group in SAME_PAPER:
        assert len({slugify(t) for t in group}) == 1, group
    assert slugify(LONG) != slugify(LONG[:-1] + "z")


def test_slugs_do_not_depend_on_the_process() -> None:
    """The hash part must not come from Python's per-process string hashing."""
    import subprocess
    import sys

    code = "import sys; from generator.slug import slugify; print(slugify(sys.argv[1]))"
    seen = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code, "∑∫∂"], env=env, capture_output=True, text=True
        )
        seen.add(out.stdout.strip())
    assert seen == {slugify("∑∫∂")}


def _files(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()
    }


def test_ingest_order_does_not_change_file_names(tmp_path: Path, cli) -> None:
    first = HOSTILE_TITLES[::2] + [group[0] for group in SAME_PAPER]
    second = HOSTILE_TITLES[1::2] + [t for group in SAME_PAPER for t in group[1:]]
    outside = tmp_path / "incoming"
    outside.mkdir()
    (outside / "a.txt").write_text(digest_text(first), encoding="utf-8")
    (outside / "b.txt").write_text(digest_text(second), encoding="utf-8")
    results = []
    for name, order in (("ab", ("a.txt", "b.txt")), ("ba", ("b.txt", "a.txt"))):
        root = make_project(tmp_path / name, digests=False)
        before = _files(root)
        for digest in order:
            cli(root, "ingest", str(outside / digest))
        cli(root, "build", "--no-ingest")
        papers = root / "content" / "papers"
        entries = {p.name for p in papers.iterdir()}
        pages = {p.name for p in (root / "_site" / "papers").iterdir()}
        for name_ in entries:
            assert name_.endswith(".yaml")
            check_name(name_[: -len(".yaml")])
        assert pages == {n.replace(".yaml", ".html") for n in entries}
        new = _files(root) - before
        outside_expected = [
            f
            for f in new
            if not f.startswith(("content/papers/", "content/digests/", "_site/", ".survey-cache/"))
            and f not in {"content/digests.yaml", "content/.survey.lock"}
        ]
        assert outside_expected == [], "files written outside their folders"
        for rel in new:
            assert (root / rel).resolve().is_relative_to(root.resolve())
        by_key = {title_key(load_file(papers / n)["ingest"]["title"]): n for n in entries}
        results.append(by_key)
    assert results[0] == results[1], "a paper's file name depends on the ingest order"
    distinct = {title_key(t) for t in first + second}
    assert len(results[0]) == len(distinct)


def test_a_crafted_slug_collision_is_a_clear_error_not_an_overwrite(tmp_path: Path, cli) -> None:
    """`Foo α` gets `foo-<hash>`; a paper literally titled `Foo <hash>` would take the same name."""
    lossy = "Foo α"
    crafted = "Foo " + slugify(lossy).split("-", 1)[1]
    assert slugify(crafted) == slugify(lossy) and title_key(crafted) != title_key(lossy)
    for order in ((lossy, crafted), (crafted, lossy)):
        root = make_project(tmp_path / "-".join(map(title_key, order)), digests=False)
        (root / "content" / "digests" / "d.txt").write_text(
            digest_text(list(order)), encoding="utf-8"
        )
        result = cli(root, "ingest", ok=False)
        assert result.exit_code == 1
        assert "slug collision" in result.output and "Traceback" not in result.output
        assert not (root / "content" / "papers").exists() or not any(
            (root / "content" / "papers").iterdir()
        )


# --------------------------------------------------------------------------- symlinks


@pytest.fixture
def ingested(tmp_path: Path, cli) -> Path:
    root = make_project(tmp_path / "proj", digests=False)
    (root / "content" / "digests" / "d.txt").write_text(
        digest_text(["A title", "B title"]), encoding="utf-8"
    )
    cli(root, "ingest")
    return root


READS_DIGESTS = (("ingest",), ("build",))
READS_ENTRIES = (("ingest",), ("build",), ("build", "--no-ingest"))


def _refused(cli, root: Path, outside: Path, commands=READS_ENTRIES) -> None:  # noqa: ANN001
    before = snapshot(outside) if outside.is_dir() else outside.read_bytes()
    for command in commands:
        result = cli(root, *command, ok=False)
        assert result.exit_code == 1, (command, result.output)
        assert "outside" in result.output and "refusing" in result.output, result.output
        assert "Traceback" not in result.output
    assert not (root / "_site").exists(), "a refused build must not publish anything"
    after = snapshot(outside) if outside.is_dir() else outside.read_bytes()
    assert after == before, "something outside content/ was changed"


def test_a_digest_symlinked_outside_is_refused(tmp_path: Path, ingested: Path, cli) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(digest_text(["Secret paper"]), encoding="utf-8")
    (ingested / "content" / "digests" / "evil.txt").symlink_to(secret)
    _refused(cli, ingested, secret, READS_DIGESTS)


def test_an_entry_symlinked_outside_is_refused(tmp_path: Path, ingested: Path, cli) -> None:
    papers = ingested / "content" / "papers"
    secret = tmp_path / "secret.yaml"
    secret.write_bytes(next(papers.glob("*.yaml")).read_bytes())
    (papers / "evil.yaml").symlink_to(secret)
    _refused(cli, ingested, secret)


def test_the_papers_folder_symlinked_outside_is_refused(
    tmp_path: Path, ingested: Path, cli
) -> None:
    papers = ingested / "content" / "papers"
    elsewhere = tmp_path / "elsewhere"
    papers.rename(elsewhere)
    papers.symlink_to(elsewhere, target_is_directory=True)
    _refused(cli, ingested, elsewhere)


def test_the_digests_folder_symlinked_outside_is_refused(
    tmp_path: Path, ingested: Path, cli
) -> None:
    digests = ingested / "content" / "digests"
    elsewhere = tmp_path / "digests-elsewhere"
    digests.rename(elsewhere)
    digests.symlink_to(elsewhere, target_is_directory=True)
    _refused(cli, ingested, elsewhere, READS_DIGESTS)


@pytest.mark.parametrize("where", ["topics/hypernetworks.md", "pages/about.md"])
def test_prose_symlinked_outside_is_not_published(
    tmp_path: Path, ingested: Path, cli, where: str
) -> None:
    """Any file is valid Markdown, so a symlinked page would publish whatever it points at."""
    secret = tmp_path / "id_rsa"
    marker = "PRIVATE-" + hashlib.sha256(b"x").hexdigest()[:12]
    secret.write_text(f"-----BEGIN KEY-----\n{marker}\n", encoding="utf-8")
    link = ingested / "content" / where
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.exists():
        link.unlink()
    link.symlink_to(secret)
    result = cli(ingested, "build", ok=False)
    published = [
        p
        for p in (ingested / "_site").rglob("*")
        if p.is_file() and marker in p.read_text("utf-8", "replace")
    ]
    assert not published, f"{marker} published in {published}"
    assert result.exit_code == 1 and "outside" in result.output, result.output
    assert "Traceback" not in result.output


def test_symlinks_that_stay_inside_content_are_fine(ingested: Path, cli) -> None:
    digests = ingested / "content" / "digests"
    (ingested / "content" / "incoming").mkdir()
    target = ingested / "content" / "incoming" / "c.txt"
    target.write_text(digest_text(["C title"]), encoding="utf-8")
    (digests / "c.txt").symlink_to(Path("..") / "incoming" / "c.txt")
    cli(ingested, "build")
    assert (ingested / "content" / "papers" / "c-title.yaml").is_file()
