"""The maintainer flow end to end: build, curate an entry, drop in a new digest, run the
workflow's own commands, and find the new papers on topic pages, in feeds and in search
while the curated edits stay byte for byte."""

from __future__ import annotations

import shlex
from pathlib import Path

import feedparser
import pytest
import yaml
from bs4 import BeautifulSoup
from click.testing import CliRunner

from generator.cli import main
from generator.search import base36, load_payload, search_python
from generator.slug import slugify
from tests.conftest import REPO, make_project

WORKFLOW = REPO / ".github" / "workflows" / "rebuild.yml"
DIGEST = "005_f1e2d3c4b5a69788"
REAL = [
    ("002_699aaad9f8861ff2", "Magnitude Invariant Parametrizations Improve Hypernetwork Learning"),
    ("000_5725321697e0549f", "Momentum Auxiliary Network for Supervised Local Learning"),
]
PRUNE = (
    "HyperPrune: Hypernetwork-Generated Channel Masks for Structured Pruning",
    "We propose HyperPrune, a structured pruning method in which a small hypernetwork "
    "generates the channel masks of a convolutional network. The hypernetwork is trained "
    "jointly with the target network and removes 60% of the channels of ResNet-50 with "
    "less than one point of accuracy lost. Unlike magnitude pruning, the pruned "
    "architecture is predicted for each sparsity budget without retraining.",
)
TICKETS = (
    "Winning Tickets for Sparse Experts: Magnitude Pruning of Mixture-of-Experts Layers",
    "We study the lottery ticket hypothesis for mixture-of-experts transformers. Iterative "
    "magnitude pruning with weight rewinding finds sparse subnetworks that match the dense "
    "model at 80% sparsity, and we propose expert pruning that removes whole experts. "
    "Pruned models train to full accuracy from the rewound weights.",
)
CURATED_NOTE = "Curator: compare with the MIP ablations before citing."


def workflow_commands() -> list[list[str]]:
    """Return the `survey ...` commands the rebuild workflow runs, in order."""
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    (job,) = data["jobs"].values()
    lines = [line.strip() for step in job["steps"] for line in step.get("run", "").splitlines()]
    return [shlex.split(line)[1:] for line in lines if line.startswith("survey ")]


def run(root: Path, *args: str) -> str:
    """Run the real CLI as the workflow does (CI set); fail on a non-zero exit."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", "1767225600")
        patch.setenv("CI", "true")
        result = CliRunner().invoke(main, ["--root", str(root), *args])
    assert result.exit_code == 0, result.output
    return result.output


def real_record(digest: str, title: str) -> tuple[str, str]:
    """Return a shipped paper's title and abstract as its digest prints them."""
    lines = (
        (REPO / "content" / "digests" / f"{digest}.txt").read_text(encoding="utf-8").splitlines()
    )
    at = lines.index(title)
    abstract = next(line for line in lines[at + 1 :] if line.strip())
    return title, abstract


def spaced_digest(records: list[tuple[str, str]]) -> str:
    """Write a digest in the spaced layout, each paper with a metadata block."""
    chrome = ["new", "Get trending papers in your email inbox!", "Subscribe", "Daily Papers"]
    parts = [*chrome, "byAK and the research community", "Dec 15"]
    for number, (title, abstract) in enumerate(records, start=2):
        parts += [
            title,
            abstract,
            f"  \u2022 {number} authors\n\u00b7\nDec {number}, 2025 {number * 3}",
        ]
    return "\n\n".join(parts) + "\n"


def curate(path: Path) -> bytes:
    """Edit an entry's curated note and tags and add a key of our own; return the bytes."""
    text = path.read_text(encoding="utf-8")
    assert "  note: ''\n" in text and "  tags: []\n" in text
    text = text.replace("  note: ''\n", f"  note: '{CURATED_NOTE}'\n")
    text = text.replace("  tags: []\n", "  tags:\n  - stability\n  - reparametrization\n")
    path.write_text(text + "reviewed_by: alice  # our own key\n", encoding="utf-8")
    return path.read_bytes()


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Build once, curate two entries, add a digest, rerun the workflow's commands."""
    root = make_project(tmp_path_factory.mktemp("flow") / "proj")
    commands = workflow_commands()
    for command in commands:
        run(root, *command)
    papers = root / "content" / "papers"
    reseen = papers / f"{slugify(REAL[0][1])}.yaml"
    untouched = papers / "a-brief-review-of-hypernetworks-in-deep-learning.yaml"
    before = {"reseen": curate(reseen), "untouched": curate(untouched)}
    records = [real_record(*REAL[0]), PRUNE, real_record(*REAL[1]), TICKETS]
    (root / "content" / "digests" / f"{DIGEST}.txt").write_text(
        spaced_digest(records), encoding="utf-8"
    )
    outputs = [run(root, *command) for command in commands]
    return {"root": root, "site": root / "_site", "before": before, "reseen": reseen,
            "untouched": untouched, "commands": commands, "outputs": outputs}  # fmt: skip


def test_the_workflow_runs_ingest_then_a_strict_build(flow: dict) -> None:
    assert flow["commands"] == [["ingest"], ["build", "--strict"]]
    assert f"{DIGEST} (spaced): 4 papers" in flow["outputs"][0]


def test_curated_edits_stay_byte_for_byte(flow: dict) -> None:
    assert flow["untouched"].read_bytes() == flow["before"]["untouched"]
    after = flow["reseen"].read_bytes()
    assert after != flow["before"]["reseen"]  # its ingest block now lists the new digest
    head = b"\ncurated:"
    old = flow["before"]["reseen"]
    assert after[after.index(head) :] == old[old.index(head) :]
    data = yaml.safe_load(after)
    assert DIGEST in [seen["digest"] for seen in data["ingest"]["seen_in"]]
    assert data["curated"]["note"] == CURATED_NOTE and data["reviewed_by"] == "alice"


def test_curated_fields_reach_the_paper_page(flow: dict) -> None:
    page = flow["site"] / "papers" / f"{flow['reseen'].stem}.html"
    text = BeautifulSoup(page.read_bytes(), "lxml").get_text(" ")
    assert CURATED_NOTE in text and "reparametrization" in text


def test_new_papers_have_entries_and_pages(flow: dict) -> None:
    for (title, _abstract), date in ((PRUNE, "2025-12-03"), (TICKETS, "2025-12-05")):
        slug = slugify(title)
        entry = yaml.safe_load((flow["root"] / "content" / "papers" / f"{slug}.yaml").read_bytes())
        assert (entry["ingest"]["title"], entry["ingest"]["date"]) == (title, date)
        assert (flow["site"] / "papers" / f"{slug}.html").is_file()


@pytest.mark.parametrize(
    ("title", "topics"),
    [(PRUNE[0], ["pruning", "hypernetworks"]), (TICKETS[0], ["pruning"])],
)
def test_new_papers_are_on_their_topic_pages(flow: dict, title: str, topics: list[str]) -> None:
    for topic in topics:
        soup = BeautifulSoup((flow["site"] / "topics" / f"{topic}.html").read_bytes(), "lxml")
        hrefs = [a["href"] for a in soup.select("main a[href]") if a.get_text(strip=True) == title]
        assert f"../papers/{slugify(title)}.html" in hrefs, topic


def test_new_papers_are_in_the_feeds(flow: dict) -> None:
    for feed, titles in [("all", [PRUNE[0], TICKETS[0]]), ("pruning", [PRUNE[0], TICKETS[0]])]:
        parsed = feedparser.parse((flow["site"] / "feeds" / f"{feed}.xml").read_bytes())
        assert not parsed.bozo, parsed.bozo_exception
        found = {entry.title for entry in parsed.entries}
        assert set(titles) <= found, feed
    hyper = feedparser.parse((flow["site"] / "feeds" / "hypernetworks.xml").read_bytes())
    assert PRUNE[0] in {entry.title for entry in hyper.entries}


def search_files(site: Path) -> dict[str, bytes]:
    """Return the built search payload under its logical names."""
    files = {f"search/{p.name}": p.read_bytes() for p in (site / "search").glob("*.js")}
    (manifest,) = [name for name in files if name.startswith("search/manifest.")]
    files["search/manifest.js"] = files[manifest]
    return files


@pytest.mark.parametrize(
    ("query", "title"),
    [("hyperprune", PRUNE[0]), ("expert pruning rewinding", TICKETS[0])],
)
def test_new_papers_are_found_by_search(flow: dict, query: str, title: str) -> None:
    files = search_files(flow["site"])
    _manifest, shards = load_payload(files)
    rows = {base36(s.start + i): row for s in shards for i, row in enumerate(s.docs)}
    titles = [rows[ref][0] for ref in search_python(files, query, limit=5)]
    assert titles and titles[0] == title
