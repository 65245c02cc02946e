"""`survey topics`, curated overrides and a new topic, through the real CLI and the built site."""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup

from generator.slug import slugify
from generator.yamlio import load_file

MIP = "Magnitude Invariant Parametrizations Improve Hypernetwork Learning"
LABELS = Path(__file__).parent / "labels" / "topics.yaml"


def page(root: Path, rel: str) -> BeautifulSoup:
    """Parse one built page."""
    return BeautifulSoup((root / "_site" / rel).read_text(encoding="utf-8"), "html.parser")


def listed(root: Path, topic: str) -> list[str]:
    """Return the titles listed on a topic page."""
    return [
        a.get_text(strip=True)
        for a in page(root, f"topics/{topic}.html").select("#paper-list h3 a")
    ]


def test_counts_and_borderline_papers(project: Path, cli) -> None:
    cli(project, "ingest")
    output = cli(project, "topics").output
    counts = dict(re.findall(r"^  ([a-z-]+) +(\d+)", output, re.M))
    assert set(counts) == {"operators", "pruning", "local-learning", "hypernetworks", "other"}
    assert int(counts["other"]) > 200 and int(counts["hypernetworks"]) > 10
    assert re.search(r"Borderline papers to review \(\d+\):", output)
    assert re.search(r"^  (in |out) [a-z-]+ +\d+\.\d\d / [\d.]+  \S", output, re.M)


def test_evaluate_prints_per_topic_and_macro_figures(project: Path, cli) -> None:
    cli(project, "ingest")
    output = cli(project, "topics", "--evaluate", str(LABELS)).output
    print(output)
    rows = {m[0]: (float(m[1]), float(m[2]), float(m[3])) for m in re.findall(
        r"^([a-z-]+)\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", output, re.M
    )}  # fmt: skip
    assert set(rows) == {"operators", "pruning", "local-learning", "hypernetworks"}
    assert all(p >= 0.85 and f >= 0.85 for p, _r, f in rows.values()), rows
    assert re.search(r"^macro\s+[\d.]+\s+[\d.]+\s+[\d.]+$", output, re.M)


def test_curated_override_wins_and_survives_reingest(project: Path, cli) -> None:
    cli(project, "build")
    assert MIP in listed(project, "hypernetworks")
    path = project / "content" / "papers" / f"{slugify(MIP)}.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("  topics: null", "  topics: [pruning]"),
        encoding="utf-8",
    )
    cli(project, "ingest")
    cli(project, "build")
    data = load_file(path)
    assert data["curated"]["topics"] == ["pruning"]
    assert [m["topic"] for m in data["ingest"]["topics"]] == ["hypernetworks"]  # evidence kept
    assert MIP in listed(project, "pruning") and MIP not in listed(project, "hypernetworks")
    why = (
        page(project, f"papers/{slugify(MIP)}.html")
        .select_one(".reasons")
        .get_text(" ", strip=True)
    )
    assert "Pruning and sparsity" in why and "set by a curator" in why


NEW_TOPIC = """
  - id: spiking
    title: Spiking neural networks
    description: Networks of spiking neurons and their training.
    threshold: 3
    evidence:
      - pattern: 'spiking neural networks?|\\bSNNs?\\b|spiking'
        weight: 2
        label: spiking
"""


def test_a_fifth_topic_is_an_edit_to_topics_yaml_only(project: Path, cli) -> None:
    topics = project / "content" / "topics.yaml"
    topics.write_text(
        topics.read_text(encoding="utf-8").rstrip("\n") + "\n" + NEW_TOPIC, encoding="utf-8"
    )
    cli(project, "build")
    titles = listed(project, "spiking")
    assert any(t.startswith("SpikeGPT") for t in titles)
    assert (project / "_site" / "feeds" / "spiking.xml").is_file()
    home = [h.get_text(strip=True) for h in page(project, "index.html").select(".topic-card h3")]
    assert "Spiking neural networks" in home
