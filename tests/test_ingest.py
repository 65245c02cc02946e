"""Ingest of the real digests through the real CLI: counts, fields, merging, idempotence."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import snapshot

from generator.slug import slugify
from generator.yamlio import load_file

MIP = "Magnitude Invariant Parametrizations Improve Hypernetwork Learning"
LOGAH_PREFIX = "LoGAH: Predicting 774-Million-Parameter"
WORLD = "World Modeling with Probabilistic Structure Integration"


def entry(root: Path, title: str) -> dict:
    """Load the entry for an exact title."""
    return load_file(root / "content" / "papers" / f"{slugify(title)}.yaml")


def find(root: Path, prefix: str) -> dict:
    """Load the single entry whose title starts with prefix."""
    hits = [
        data
        for path in (root / "content" / "papers").glob("*.yaml")
        if (data := load_file(path))["ingest"]["title"].startswith(prefix)
    ]
    assert len(hits) == 1, f"{len(hits)} entries start with {prefix!r}"
    return hits[0]


@pytest.fixture
def ingested(project: Path, cli) -> tuple[Path, str]:
    result = cli(project, "ingest")
    return project, result.output


def test_counts_per_digest_and_overall(ingested: tuple[Path, str]) -> None:
    root, output = ingested
    rows = dict(re.findall(r"^(\d{3}_\w+) \(\w+\): (\d+) papers", output, re.M))
    assert rows == {
        "000_5725321697e0549f": "64",
        "001_8ce00fd3c3b9dbf6": "208",
        "002_699aaad9f8861ff2": "51",
        "004_82dc2b5f30b14b6a": "70",
    }
    assert "(compact)" in output and "(spaced)" in output
    assert "359 entries in the survey" in output
    assert len(list((root / "content" / "papers").glob("*.yaml"))) == 359


def test_spaced_layout_fields_of_a_real_paper(ingested: tuple[Path, str]) -> None:
    block = entry(ingested[0], MIP)["ingest"]
    assert block["abstract"].startswith(
        "Hypernetworks, neural networks that predict the parameters"
    )
    assert block["abstract"].endswith("can turn existing networks into MIP-based hypernetworks.")
    assert block["authors"] == 3
    assert block["date"] == "2023-04-15"
    assert block["upvotes"] is None


def test_upvotes_links_and_year_less_dates(ingested: tuple[Path, str]) -> None:
    logah = find(ingested[0], LOGAH_PREFIX)["ingest"]
    assert (logah["date"], logah["upvotes"]) == ("2024-05-25", 2)
    assert logah["links"] == [{"url": "https://github.com/Blackzxy/LoGAH", "kind": "code"}]
    world = find(ingested[0], WORLD)["ingest"]
    assert (world["date"], world["upvotes"]) == ("--09-10", 4)  # year unknown, never invented


def test_compact_layout_fields_of_a_real_paper(ingested: tuple[Path, str]) -> None:
    root = ingested[0]
    sound = find(root, "Sound propagation in realistic interactive 3D scenes")["ingest"]
    assert sound["title"].startswith("Sound propagation")  # "Subscribe" chrome unglued
    assert sound["abstract"].startswith("We address the challenge of sound propagation")
    assert sound["abstract"].endswith("immersive user experiences within virtual environments.")
    assert sound["seen_in"] == [
        {
            "digest": "001_8ce00fd3c3b9dbf6",
            "position": 1,
            "line": 3,
            "authors": None,
            "upvotes": None,
            "date": None,
        }
    ]
    involution = find(root, "Involution: Inverting the Inherence")["ingest"]
    assert involution["links"] == [{"url": "https://github.com/d-li14/involution", "kind": "code"}]
    project_page = find(root, "Aligning Text-to-Image Diffusion Models")["ingest"]
    assert project_page["links"] == [{"url": "https://align-prop.github.io/", "kind": "project"}]


def test_duplicates_merge_with_every_provenance(ingested: tuple[Path, str]) -> None:
    mip = entry(ingested[0], MIP)["ingest"]
    assert [s["digest"][:3] for s in mip["seen_in"]] == ["000", "001", "002"]
    untrainable = find(ingested[0], "Training the Untrainable")["ingest"]
    assert [s["digest"][:3] for s in untrainable["seen_in"]] == ["000", "001", "002", "004"]
    assert untrainable["authors"] == 7  # known from the one digest that shows authors


def test_reingest_changes_no_byte(ingested: tuple[Path, str], cli) -> None:
    root = ingested[0]
    before = snapshot(root / "content")
    output = cli(root, "ingest").output
    assert snapshot(root / "content") == before  # bytes and mtimes: nothing rewritten
    assert "0 file(s) written" in output
    assert re.search(r"000_\w+ \(spaced\): 64 papers: 0 new, 0 updated, 64 unchanged", output)


CURATED = """curated:
  title: A Better Title for MIP
  # a curator's comment survives
  note: |
    Read *this* first. See [the code](https://example.org/mip).
  topics: [hypernetworks, pruning]
  tags: [favourite, 'yes']
  hidden: false
reviewed_by: someone   # an unknown key a person added
"""


def _curate(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    text = text[: text.index("\ncurated:") + 1] + CURATED
    path.write_text(text, encoding="utf-8")
    return text


NEW_DIGEST = """new

Subscribe

Daily Papers

Nov 20

{title}

{abstract}

  • 3 authors
·
Apr 15, 2023 17

A Brand New Paper About Pruning Lottery Tickets

We prune weights to find lottery tickets. Sparse subnetworks train well. Code at https://github.com/new/lottery.
"""


def test_curated_edits_survive_reingest_and_a_new_digest(ingested: tuple[Path, str], cli) -> None:
    root = ingested[0]
    path = root / "content" / "papers" / f"{slugify(MIP)}.yaml"
    curated_text = _curate(path)
    cli(root, "ingest")
    assert path.read_text(encoding="utf-8") == curated_text  # re-ingest: untouched
    old = entry(root, MIP)
    new_digest = root / "content" / "digests" / "005_new.txt"
    new_digest.write_text(
        NEW_DIGEST.format(title=MIP, abstract=old["ingest"]["abstract"]), encoding="utf-8"
    )
    output = cli(root, "ingest").output
    assert "005_new (spaced): 2 papers: 1 new, 1 updated, 0 unchanged" in output
    text = path.read_text(encoding="utf-8")
    assert text.endswith(CURATED)  # curated block, comment and unknown key byte for byte
    data = load_file(path)
    assert data["curated"]["tags"] == ["favourite", "yes"]
    assert data["ingest"]["upvotes"] == 17
    assert [s["digest"] for s in data["ingest"]["seen_in"]][-1] == "005_new"
    assert data["ingest"]["seen_in"][-1]["upvotes"] == 17
    assert (
        root / "content" / "papers" / "a-brand-new-paper-about-pruning-lottery-tickets.yaml"
    ).exists()


def test_same_title_with_a_different_abstract_is_kept(ingested: tuple[Path, str], cli) -> None:
    root = ingested[0]
    other = "A completely different text. Nothing in common here at all. Totally unrelated words."
    (root / "content" / "digests" / "006_variant.txt").write_text(
        NEW_DIGEST.format(title=MIP.upper() + "!", abstract=other), encoding="utf-8"
    )
    cli(root, "ingest")
    data = entry(root, MIP)["ingest"]
    assert data["title"] == MIP
    assert data["variants"] == [{"abstract": other, "seen": "006_variant#1"}]


def test_digest_date_resolves_year_less_dates(project: Path, cli) -> None:
    digest = project / "content" / "digests" / "002_699aaad9f8861ff2.txt"
    cli(project, "ingest", str(digest), "--digest-date", "2025-11-03")
    assert find(project, WORLD)["ingest"]["date"] == "2025-09-10"
    ledger = load_file(project / "content" / "digests.yaml")["digests"]
    assert ledger[0]["date"] == "2025-11-03"
    cli(project, "ingest")  # remembered without the option
    assert find(project, WORLD)["ingest"]["date"] == "2025-09-10"


def test_ingest_copies_an_outside_digest_in(project: Path, cli, tmp_path: Path) -> None:
    outside = tmp_path / "fresh.txt"
    shutil.copy(project / "content" / "digests" / "004_82dc2b5f30b14b6a.txt", outside)
    for path in (project / "content" / "digests").glob("*.txt"):
        path.unlink()
    output = cli(project, "ingest", str(outside)).output
    assert (project / "content" / "digests" / "fresh.txt").read_bytes() == outside.read_bytes()
    assert "fresh (spaced): 70 papers: 70 new" in output


def test_an_outside_digest_with_a_taken_name_is_refused_unless_it_is_the_same(
    project: Path, cli, tmp_path: Path
) -> None:
    shipped = project / "content" / "digests" / "004_82dc2b5f30b14b6a.txt"
    cli(project, "ingest")
    same = tmp_path / shipped.name
    same.write_bytes(shipped.read_bytes())
    before = snapshot(project / "content")
    assert "70 unchanged" in cli(project, "ingest", str(same)).output
    assert snapshot(project / "content") == before
    same.write_bytes(shipped.read_bytes() + b"\n")
    result = cli(project, "ingest", str(same), ok=False)
    assert result.exit_code == 1
    assert f"{shipped} already exists with other content; rename {shipped.name}" in result.output
    assert snapshot(project / "content") == before


BAD_INPUTS = {
    "empty": (b"", 1, "empty digest"),
    "blank": (b"\n\n  \n", 1, "empty digest"),
    "binary": (b"Subscribe\n\x00\x01\x02\x89PNG", 2, "binary file"),
    "latin1": (
        "Subscribe\n\nTitle\n\nAbstract caf\xe9. Two. Three.\n".encode("latin-1"),
        5,
        "not UTF-8",
    ),
    "neither-layout": (b"new\n\nSubscribe\n\nDaily Papers\n", 1, "no papers found"),
    "dangling-title": (
        b"Subscribe\n\nTitle\n\nAbstract one. Two. Three.\n\nLonely title\n",
        7,
        "title has no abstract",
    ),
    "orphan-abstract": (
        b"Subscribe\n\nAbstract with no title. It goes on. And on.\n",
        3,
        "abstract with no title",
    ),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_digest_fails_clearly_and_writes_nothing(
    ingested: tuple[Path, str], cli, name: str
) -> None:
    root = ingested[0]
    data, line, message = BAD_INPUTS[name]
    bad = root / "content" / "digests" / f"zz_{name}.txt"
    bad.write_bytes(data)
    before = snapshot(root / "content" / "papers"), (root / "content" / "digests.yaml").read_bytes()
    result = cli(root, "ingest", ok=False)
    assert result.exit_code == 1
    assert f"zz_{name}.txt:{line}: {message}" in result.output
    assert "Traceback" not in result.output
    assert (
        snapshot(root / "content" / "papers"),
        (root / "content" / "digests.yaml").read_bytes(),
    ) == before


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_a_bad_digest_from_elsewhere_is_named_where_it_is_and_not_copied_in(
    ingested: tuple[Path, str], cli, tmp_path: Path, name: str
) -> None:
    """`survey ingest PATH` copies an outside digest in only with the entries it brings."""
    root = ingested[0]
    data, line, message = BAD_INPUTS[name]
    bad = tmp_path / f"zz_{name}.txt"
    bad.write_bytes(data)
    before = snapshot(root / "content")
    result = cli(root, "ingest", str(bad), ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{bad}:{line}: {message}" in result.output
    assert snapshot(root / "content") == before


def test_the_shipped_content_is_what_ingest_writes(tmp_path: Path, cli) -> None:
    """The repository's entries and ledger are current, so a fresh clone ingests nothing.

    When this fails after a change to the ingest code, run `survey ingest` in the
    repository and commit `content/` (the ledger's stamp fingerprints that code).
    """
    from conftest import REPO, make_project

    from generator.ledger import ingest_stamp, read_ledger

    root = make_project(tmp_path / "proj", papers=True)
    ledger = read_ledger(root / "content" / "digests.yaml")
    content = root / "content"
    assert ledger.stamp == ingest_stamp(ledger.items, content / "topics.yaml", content / "papers")
    before = snapshot(content / "papers"), (content / "digests.yaml").read_bytes()
    assert "0 file(s) written" in cli(root, "ingest").output
    assert (snapshot(content / "papers"), (content / "digests.yaml").read_bytes()) == before
    assert before[1] == (REPO / "content" / "digests.yaml").read_bytes()
    assert "reading " not in cli(root, "build", "--no-strict").output


def test_an_entry_failing_late_leaves_no_file_written_or_staged(
    project: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entry files are staged while the rest is classified; a later failure removes them."""
    from generator import ingest
    from generator.errors import SurveyError

    render, seen = ingest._render, []

    def failing(entry, matches, previous):  # noqa: ANN001, ANN202
        seen.append(entry.title)
        if entry.title in seen[299:300]:  # the 300th entry fails, each time it is rendered
            raise SurveyError(f"cannot write {entry.title}")
        return render(entry, matches, previous)

    monkeypatch.setattr(ingest, "_render", failing)
    result = cli(project, "ingest", ok=False)
    assert result.exit_code == 1 and "cannot write" in result.output
    assert len(seen) > 300  # the failure came after 299 entries were staged
    papers = project / "content" / "papers"
    assert not papers.exists() or list(papers.iterdir()) == []
    assert not (project / "content" / "digests.yaml").exists()
