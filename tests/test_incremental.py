"""Incremental builds (caches, reused pages, a no-change skip) give exactly a cold build's bytes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import make_project, snapshot

from generator.config import Config
from generator.slug import slugify

MIP = "Magnitude Invariant Parametrizations Improve Hypernetwork Learning"
NEW_ABSTRACT = (
    "We prune the weights of a hypernetwork that generates the weights of a target network."
    " Sparse hypernetworks keep accuracy. Code: https://github.com/example/phw."
)
NEW_DIGEST = """new

Subscribe

Daily Papers

Nov 20

Pruning Hypernetworks for Fast Weight Generation

{new_abstract}

  • 4 authors
·
Oct 2, 2025 12

Magnitude Invariant Parametrizations Improve Hypernetwork Learning

{abstract}

  • 3 authors
·
Apr 15, 2023 9
"""


def files(site: Path) -> dict[str, bytes]:
    """Return every output file's bytes."""
    return {rel: data for rel, (data, _mtime) in snapshot(site).items()}


def edit(root: Path) -> None:
    """Change content the way a maintainer would: a new digest, a curated note, a template."""
    abstract = (root / "content" / "papers" / f"{slugify(MIP)}.yaml").read_text(encoding="utf-8")
    abstract = abstract.split("abstract: ", 1)[1].split("\n  authors:", 1)[0]
    text = NEW_DIGEST.format(abstract=" ".join(abstract.split()), new_abstract=NEW_ABSTRACT)
    (root / "content" / "digests" / "005_new.txt").write_text(text, encoding="utf-8")
    entry = root / "content" / "papers" / "pointer-networks.yaml"
    entry.write_text(
        entry.read_text(encoding="utf-8").replace("  note: ''", "  note: A *classic*."),
        encoding="utf-8",
    )
    footer = root / "templates" / "base.html"
    footer.write_text(
        footer.read_text(encoding="utf-8").replace("Follow new papers", "Follow papers")
    )


@pytest.fixture
def epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    monkeypatch.delenv("CI", raising=False)


def test_incremental_build_equals_cold_build(tmp_path: Path, cli, epoch: None) -> None:
    warm = make_project(tmp_path / "warm")
    cli(warm, "build")
    edit(warm)
    output = cli(warm, "build", "--strict").output
    assert "rendering" in output and "of" in output
    assert (
        warm / "_site" / "papers" / "pruning-hypernetworks-for-fast-weight-generation.html"
    ).is_file()
    cold = tmp_path / "cold"
    shutil.copytree(warm, cold, ignore=shutil.ignore_patterns("_site", ".survey-cache"))
    cli(cold, "build", "--strict")
    assert files(warm / "_site") == files(cold / "_site")


def test_only_changed_pages_are_rendered_and_the_rest_reused(
    tmp_path: Path, cli, epoch: None
) -> None:
    root = make_project(tmp_path / "proj")
    cli(root, "build")
    pointer = root / "content" / "papers" / "pointer-networks.yaml"
    pointer.write_text(
        pointer.read_text(encoding="utf-8").replace("  note: ''", "  note: Worth a read."),
        encoding="utf-8",
    )
    from generator.build import build

    report = build(Config(root=root), run_ingest=False)
    assert 0 < report.rendered < 60  # the paper, pages listing it, and site-wide pages
    page = (root / "_site" / "papers" / "pointer-networks.html").read_text(encoding="utf-8")
    assert "Worth a read." in page


def test_unchanged_inputs_skip_the_build(project: Path, cli, epoch: None) -> None:
    cli(project, "build")
    before = snapshot(project / "_site")
    output = cli(project, "build").output
    assert "nothing changed since the last build" in output
    assert snapshot(project / "_site") == before
    quiet = cli(project, "build", "-q").output  # the summary alone: no "built 0 pages"
    assert quiet.strip() == f"{project / '_site'} is up to date"
    (project / "_site.old" / "papers").mkdir(parents=True)  # a killed build's half-deleted output
    assert "nothing changed" in cli(project, "build").output
    assert not (project / "_site.old").exists()
    (project / "_site" / "index.html").unlink()  # a damaged output is rebuilt, not trusted
    output = cli(project, "build").output
    assert "nothing changed" not in output and (project / "_site" / "index.html").is_file()


def test_an_edit_made_while_a_build_runs_is_built_next_time(
    project: Path, cli, epoch: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from generator import build as build_module

    cli(project, "build")
    real_load_site = build_module.load_site

    def load_then_edit(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        site = real_load_site(*args, **kwargs)
        _note(project, "pointer-networks", "Edited mid-build.")  # after the build read it
        return site

    monkeypatch.setattr(build_module, "load_site", load_then_edit)
    (project / "templates" / "about.html").write_text(
        (project / "templates" / "about.html").read_text("utf-8") + "\n", "utf-8"
    )
    cli(project, "build")
    monkeypatch.setattr(build_module, "load_site", real_load_site)
    assert not (project / "_site.old").exists()  # the previous output is deleted
    output = cli(project, "build").output
    assert "nothing changed" not in output
    page = (project / "_site" / "papers" / "pointer-networks.html").read_text("utf-8")
    assert "Edited mid-build." in page


def test_a_sharded_search_index_builds_alongside_the_pages(project: Path, epoch: None) -> None:
    from dataclasses import replace

    from generator.build import build
    from generator.search import read_script

    config = replace(Config(root=project), search_shard_size=100)
    build(config)
    manifest = read_script((project / "_site" / "search" / "manifest.js").read_bytes())
    assert [s["n"] for s in manifest["shards"]] == [100, 100, 100, 59]
    assert all((project / "_site" / "search" / s["file"]).is_file() for s in manifest["shards"])


def _note(root: Path, slug: str, note: str) -> None:
    entry = root / "content" / "papers" / f"{slug}.yaml"
    text = entry.read_text(encoding="utf-8")
    assert "  note: ''" in text
    entry.write_text(text.replace("  note: ''", f"  note: {note}"), encoding="utf-8")


def test_links_of_reused_pages_are_still_checked(tmp_path: Path, cli, epoch: None) -> None:
    from generator.build import build

    root = make_project(tmp_path / "proj")
    cli(root, "build")
    _note(root, "pointer-networks", "'See [this](missing.html).'")
    first = build(Config(root=root), run_ingest=False)
    broken = [w for w in first.warnings if "missing.html" in w]
    assert broken == ["papers/pointer-networks.html: broken link 'missing.html'"]
    _note(root, "deep-residual-learning-for-image-recognition", "Another note.")
    second = build(Config(root=root), run_ingest=False)
    assert second.rendered < 60  # pointer-networks.html was reused, not rendered again
    assert [w for w in second.warnings if "missing.html" in w] == broken


def test_a_paper_page_key_covers_what_the_page_shows_only(shipped_site: Path) -> None:
    from dataclasses import replace

    from generator.build import load_site
    from generator.pagewriter import _page_key, _paper_digest
    from generator.render import PageSpec, paper_pages
    from generator.site import rank_related

    def key(spec: PageSpec, base: str = "base") -> str:
        shown = [spec.context["paper"], *spec.context["related"]]
        return _page_key(base, spec, {p.slug: _paper_digest(p) for p in shown})

    site = load_site(Config(root=shipped_site.parent))
    spec = next(s for s in paper_pages(site, rank_related(site)) if s.context["related"])
    first = spec.context["related"][0]
    renamed = replace(first, title=first.title + " (revised)")
    other = replace(spec, context={**spec.context, "related": [renamed]})
    fewer = replace(spec, context={**spec.context, "related": [first]})
    assert len({key(spec), key(other), key(fewer)}) == 3
    assert key(replace(spec, context=dict(spec.context))) == key(spec)
    assert key(spec) != key(spec, "base2")


def test_build_ingests_only_new_digests_until_the_ledger_changes(
    tmp_path: Path, cli, epoch: None
) -> None:
    root = make_project(tmp_path / "proj")
    first = cli(root, "build").output
    assert first.count("reading ") == 4
    edit(root)  # adds 005_new.txt
    second = cli(root, "build").output
    assert [line for line in second.splitlines() if line.startswith("reading ")] == [
        "reading 005_new.txt"
    ]
    entry = root / "content" / "papers" / "pruning-hypernetworks-for-fast-weight-generation.yaml"
    assert "005_new" in entry.read_text(encoding="utf-8")
    (root / "templates" / "base.html").write_text(
        (root / "templates" / "base.html").read_text(encoding="utf-8") + "\n"
    )
    assert "no new digests" in cli(root, "build").output
    ledger = root / "content" / "digests.yaml"
    ledger.write_text(ledger.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert "no new digests" in cli(root, "build").output  # the same digests, dates and stamp
    date_digest(root, "000_5725321697e0549f", "2024-08-01")
    assert cli(root, "build").output.count("reading ") == 5  # a digest's date changed: all again
    cold = tmp_path / "cold"
    shutil.copytree(root, cold, ignore=shutil.ignore_patterns("_site", ".survey-cache"))
    for path in (cold / "content" / "papers").glob("*.yaml"):
        path.unlink()
    (cold / "content" / "digests.yaml").unlink()
    cli(cold, "build")
    assert ingest_blocks(cold) == ingest_blocks(root)  # curated notes aside, the same entries


def date_digest(root: Path, digest: str, date: str) -> None:
    """Give a digest its own date in the ledger, as a curator would."""
    ledger = root / "content" / "digests.yaml"
    head, rest = ledger.read_text(encoding="utf-8").split(f"- id: {digest}\n", 1)
    rest = rest.replace("  date: null\n", f"  date: '{date}'\n", 1)
    ledger.write_text(f"{head}- id: {digest}\n{rest}", encoding="utf-8")


def fresh_clone(root: Path, dest: Path) -> Path:
    """Copy a project as `git clone` gives it: no output, no cache, new modification times."""
    shutil.copytree(root, dest, ignore=shutil.ignore_patterns("_site", ".survey-cache"))
    return dest


def reading(output: str) -> list[str]:
    """Return the digests a command's output says it read."""
    return [
        line.removeprefix("reading ") for line in output.splitlines() if line.startswith("reading ")
    ]


def test_a_fresh_clone_trusts_its_entries_while_the_ledger_stamp_matches(
    tmp_path: Path, cli, epoch: None
) -> None:
    root = make_project(tmp_path / "proj")
    cli(root, "build")
    clone = fresh_clone(root, tmp_path / "clone")
    result = cli(clone, "build")
    assert reading(result.output) == [] and "no new digests" in result.output
    assert files(clone / "_site") == files(root / "_site")
    edit(clone)  # a digest committed since: only it is read, as with a cache
    assert reading(cli(fresh_clone(clone, tmp_path / "clone2"), "build").output) == ["005_new.txt"]


@pytest.mark.parametrize("change", ["rules", "entry deleted", "date", "stamp removed"])
def test_a_fresh_clone_ingests_everything_when_the_stamp_no_longer_matches(
    tmp_path: Path, cli, epoch: None, change: str
) -> None:
    root = make_project(tmp_path / "proj")
    cli(root, "build")
    clone = fresh_clone(root, tmp_path / "clone")
    content = clone / "content"
    entry = content / "papers" / "pointer-networks.yaml"
    if change == "rules":
        topics = content / "topics.yaml"
        topics.write_text(topics.read_text(encoding="utf-8") + "\n# retuned\n", encoding="utf-8")
    elif change == "entry deleted":
        entry.unlink()
    elif change == "date":
        date_digest(clone, "000_5725321697e0549f", "2024-08-01")
    else:
        ledger = content / "digests.yaml"
        lines = ledger.read_text(encoding="utf-8").splitlines(keepends=True)
        ledger.write_text("".join(x for x in lines if not x.startswith("stamp:")), "utf-8")
    assert len(reading(cli(clone, "build").output)) == 4
    assert entry.is_file()
    assert "stamp: " in (content / "digests.yaml").read_text(encoding="utf-8")
    assert reading(cli(fresh_clone(clone, tmp_path / "again"), "build").output) == []


def ingest_blocks(root: Path) -> dict[str, dict]:
    """Return every entry's tool-owned `ingest:` block, by file name."""
    from generator.yamlio import load_file

    return {p.name: load_file(p)["ingest"] for p in (root / "content" / "papers").glob("*.yaml")}


def test_a_moved_project_keeps_its_caches(tmp_path: Path, cli, epoch: None) -> None:
    from generator import store
    from generator.build import build

    root = make_project(tmp_path / "proj")
    cli(root, "build")
    moved = tmp_path / "elsewhere" / "proj"
    moved.parent.mkdir()
    shutil.copytree(root, moved, symlinks=True, copy_function=shutil.copy2)
    reads = []
    real = store.read_entry
    store.read_entry = lambda path: reads.append(path) or real(path)
    try:
        report = build(Config(root=moved), run_ingest=False)
    finally:
        store.read_entry = real
    assert reads == []  # entries come from the cache, relocated
    assert report.rendered < 60  # paper pages are reused from the moved output
    cold = tmp_path / "cold"
    shutil.copytree(root, cold, ignore=shutil.ignore_patterns("_site", ".survey-cache"))
    cli(cold, "build", "--no-ingest")
    assert files(moved / "_site") == files(cold / "_site")
    stored = store.load_store(moved / "content" / "papers", moved, moved / ".survey-cache")
    assert all(s.path.parent == moved / "content" / "papers" for s in stored.values())


def test_a_digest_file_hash_is_the_hash_its_parse_records(tmp_path: Path) -> None:
    """A build compares the ledger's hashes with files it does not parse: they must agree."""
    from generator.digest import parse_digest
    from generator.ledger import digest_file_sha256

    shipped = sorted((Path(__file__).parent.parent / "content" / "digests").glob("*.txt"))
    variant = tmp_path / "bom-crlf.txt"  # a byte-order mark and Windows line ends
    variant.write_bytes(b"\xef\xbb\xbf" + shipped[0].read_bytes().replace(b"\n", b"\r\n"))
    for path in [*shipped, variant]:
        assert digest_file_sha256(path) == parse_digest(path).sha256, path.name
    assert digest_file_sha256(variant) != digest_file_sha256(shipped[0])
    assert digest_file_sha256(tmp_path / "missing.txt") is None
