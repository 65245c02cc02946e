"""The shipped digests built into a site through the real CLI; pages parsed and checked."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import feedparser
import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from conftest import make_project, snapshot

from generator.checks import broken_links
from generator.cli import main
from generator.slug import slugify

EPOCH = "1767225600"  # 2026-01-01
MIP = "Magnitude Invariant Parametrizations Improve Hypernetwork Learning"
TOPICS = ["operators", "pruning", "local-learning", "hypernetworks", "other"]
DIGEST_COUNTS = {  # papers, new to the survey (ingested in file-name order)
    "000_5725321697e0549f": (64, 64),
    "001_8ce00fd3c3b9dbf6": (208, 198),
    "002_699aaad9f8861ff2": (51, 39),
    "004_82dc2b5f30b14b6a": (70, 58),
}


def run(root: Path, *args: str) -> str:
    """Run the CLI and return its output, failing on a non-zero exit."""
    result = CliRunner().invoke(main, ["--root", str(root), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def built(shipped_site: Path) -> Path:
    """The shipped digests, built strictly once for the session."""
    return shipped_site


def soup(site: Path, rel: str) -> BeautifulSoup:
    """Parse one output page."""
    return BeautifulSoup((site / rel).read_text(encoding="utf-8"), "html.parser")


def texts(nodes) -> list[str]:  # noqa: ANN001
    """Return the stripped text of each node."""
    return [" ".join(n.get_text(" ", strip=True).split()) for n in nodes]


def test_every_page_type_exists(built: Path) -> None:
    expected = ["index.html", "topics/index.html", "timeline.html", "digests/index.html",
                "about.html", "search.html", "404.html", "feeds/all.xml"]  # fmt: skip
    expected += [f"topics/{t}{v}.html" for t in TOPICS for v in ("", "-upvotes", "-title", "-code")]
    expected += [f"digests/{d}.html" for d in DIGEST_COUNTS] + [f"feeds/{t}.xml" for t in TOPICS]
    assert [rel for rel in expected if not (built / rel).is_file()] == []
    assert len(list((built / "papers").glob("*.html"))) == 359


def test_home_page(built: Path) -> None:
    page = soup(built, "index.html")
    assert texts(page.select("h1")) == ["Neural Network Design Survey"]
    assert "follows four threads" in page.select_one(".prose").get_text()
    cards = {
        c.h3.get_text(strip=True): c.select_one(".count").get_text()
        for c in page.select(".topic-card")
    }
    topic_counts = {
        soup(built, f"topics/{t}.html").h1.get_text(strip=True): len(
            soup(built, f"topics/{t}.html").select("#paper-list > li")
        )
        for t in TOPICS
    }
    assert {k: int(v.split()[0]) for k, v in cards.items()} == topic_counts
    assert sum(topic_counts.values()) >= 359
    assert len(page.select("#newest-heading ~ ol > li")) == 10
    assert len(page.select(".digest-table tbody tr")) == 4
    svg = page.select_one("svg[role=img]")
    assert svg.title.get_text() and svg.desc.get_text()
    assert page.select("table.chart-data tbody tr")  # the text alternative


def _dates(items) -> list[tuple[int, int, int]]:  # noqa: ANN001
    return [tuple(int(x) for x in li["data-date"].split("-")) for li in items]


def test_topic_page_lists_papers_newest_first_with_details(built: Path) -> None:
    page = soup(built, "topics/operators.html")
    intro = (Path(__file__).parent.parent / "content/topics/operators.md").read_text(
        encoding="utf-8"
    )
    first_words = " ".join(re.sub(r"[*_`\[\]]", "", intro).split()[:6])
    assert first_words in " ".join(page.select_one(".prose").get_text().split())
    assert page.select_one("svg[role=img]") is not None
    items = page.select("#paper-list > li.paper-item")
    assert len(items) > 40
    dates = _dates(items)
    assert dates == sorted(dates, reverse=True)
    for li in items:
        assert li.select_one("h3 a")["href"].startswith("../papers/")
        assert li.select_one(".paper-meta") and li.select_one(".paper-excerpt").get_text(strip=True)
        assert (li.select_one(".badge-code") is not None) == (li["data-code"] == "1")
    involution = next(li for li in items if li.h3.get_text().startswith("Involution"))
    assert involution.select_one(".badge-code")["href"] == "https://github.com/d-li14/involution"


def test_topic_sort_and_filter_pages_work_without_javascript(built: Path) -> None:
    by_upvotes = [
        int(li["data-upvotes"])
        for li in soup(built, "topics/hypernetworks-upvotes.html").select("#paper-list > li")
    ]
    assert by_upvotes == sorted(by_upvotes, reverse=True) and by_upvotes[0] > 0
    titles = [
        li["data-title"]
        for li in soup(built, "topics/operators-title.html").select("#paper-list > li")
    ]
    assert titles == sorted(titles)
    code = soup(built, "topics/operators-code.html").select("#paper-list > li")
    assert code and all(li["data-code"] == "1" for li in code)
    page = soup(built, "topics/operators.html")
    year_links = [a["href"] for a in page.select(".list-controls a") if "#y-" in a["href"]]
    assert year_links and all(page.find(id=href.split("#")[1]) for href in year_links)


def test_paper_page(built: Path) -> None:
    page = soup(built, f"papers/{slugify(MIP)}.html")
    assert page.h1.get_text(strip=True) == MIP
    abstract = page.select_one(".abstract").get_text()
    assert abstract.startswith("Hypernetworks, neural networks that predict") and abstract.endswith(
        "MIP-based hypernetworks."
    )
    meta = page.select_one(".paper-meta").get_text(" ", strip=True)
    assert "Apr 15, 2023" in meta and "3 authors" in meta
    reasons = page.select(".reasons > li")
    assert [r.a.get_text() for r in reasons] == ["Hypernetworks and weight generation"]
    assert reasons[0].select(".evidence li")  # the evidence that put it there
    seen = [a.get_text() for a in page.select("#seen-heading ~ div table tbody th a")]
    assert [s[:3] for s in seen] == ["000", "001", "002"]
    related = page.select("#related-heading ~ ol > li h3 a")
    assert len(related) == 5
    assert all((built / "papers" / a["href"].split("/")[-1]).is_file() for a in related)


def test_paper_page_with_upvotes_code_and_tex_title(built: Path) -> None:
    logah = next((built / "papers").glob("logah-*.html"))
    page = soup(built, f"papers/{logah.name}")
    assert "2 upvotes" in page.select_one(".paper-meta").get_text()
    assert [a["href"] for a in page.select(".paper-links a")] == [
        "https://github.com/Blackzxy/LoGAH"
    ]
    title = "U^2-Net: Going Deeper with Nested U-Structure for Salient Object Detection"
    u2net = soup(built, f"papers/{slugify(title)}.html")
    assert u2net.h1.get_text(strip=True).startswith("U²-Net")


def test_digest_pages(built: Path) -> None:
    for digest, (papers, new) in DIGEST_COUNTS.items():
        page = soup(built, f"digests/{digest}.html")
        facts = dict(
            zip(texts(page.select("dl.facts dt")), texts(page.select("dl.facts dd")), strict=True)
        )
        assert facts["Ingested"] == "2026-01-01"
        assert (int(facts["Papers"]), int(facts["New to the survey"])) == (papers, new)
        assert int(facts["Already known"]) == papers - new
        assert len(page.select("#new-heading ~ ol > li")) == new


def test_timeline_groups_by_year_with_unknown_last(built: Path) -> None:
    page = soup(built, "timeline.html")
    headings = [
        h.get_text(" ", strip=True).split(" (")[0] for h in page.select("main section > h2")
    ]
    years = [int(h) for h in headings[:-1]]
    assert years == sorted(years, reverse=True) and headings[-1] == "Year unknown"
    items = page.select("main section li.paper-item")
    assert len(items) == 359 and all(li.select(".topic-labels a") for li in items)


def test_feeds_are_valid_atom_newest_first(built: Path) -> None:
    for topic in ["all", *TOPICS]:
        feed = feedparser.parse((built / "feeds" / f"{topic}.xml").read_bytes())
        assert feed.bozo == 0, feed.get("bozo_exception")
        assert feed.version == "atom10" and feed.entries
        stamps = [e.updated_parsed for e in feed.entries]
        assert stamps == sorted(stamps, reverse=True)
    hyper = feedparser.parse((built / "feeds" / "hypernetworks.xml").read_bytes())
    assert any(e.title == MIP for e in hyper.entries)
    assert all(e.link.startswith("../papers/") for e in hyper.entries)


def test_home_page_newest_papers_lead_the_survey_feed(built: Path) -> None:
    home = soup(built, "index.html").select("#newest-heading ~ ol > li .paper-title a")
    feed = feedparser.parse((built / "feeds" / "all.xml").read_bytes())
    from_feed = [e.link.removeprefix("../") for e in feed.entries]
    assert len(home) == 10 and [a["href"] for a in home] == from_feed[:10]


def test_links_resolve_relative_and_nothing_leaves_the_site(built: Path) -> None:
    assert broken_links(built) == []
    for path in built.rglob("*.html"):
        page = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        loaded = [t.get("src") for t in page.select("script[src], img[src]")]
        loaded += [t.get("href") for t in page.select("link[href]")]
        assert not [u for u in loaded if re.match(r"(?i)^[a-z]+:|^//", u)], path
        assert not page.select("script:not([src])"), f"inline script in {path}"
        if path.name != "404.html":
            assert not [a["href"] for a in page.select("[href^='/']")], path


def test_two_builds_are_byte_identical(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    root = make_project(tmp_path / "again")
    run(root, "build")
    first = {k: v[0] for k, v in snapshot(built).items()}
    second = {k: v[0] for k, v in snapshot(root / "_site").items()}
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []


def test_pages_rendered_on_several_processes_equal_pages_rendered_on_one(
    built: Path, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Big surveys split pages over forked workers; the bytes must not depend on the split."""
    from generator import pagewriter, parallel

    if parallel.jobs_for(1000, 2) != 2:
        pytest.skip("needs exactly two cores to split the work (the message names them)")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.setattr(pagewriter, "PARALLEL_MIN", 10)
    monkeypatch.setattr(pagewriter, "LIST_PARALLEL_MIN", 10)
    monkeypatch.setattr(pagewriter, "EARLY_PAGES", 100)  # the other 259 after the ranking
    root = make_project(tmp_path / "split")
    result = cli(root, "build")
    assert "rendered 259 paper pages on 2 processes" in result.output
    assert "list pages on 2 processes" in result.output
    first = {k: v[0] for k, v in snapshot(built).items()}
    second = {k: v[0] for k, v in snapshot(root / "_site").items()}
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []


SECTION = "{{ related_section(related, root) }}"
PAPER_TEMPLATES = {  # edits of paper.html, and whether its pages can be rendered early
    "as shipped": ({}, True),
    "section twice": ({SECTION: SECTION + SECTION}, True),
    "no section": ({SECTION: ""}, True),
    "related used elsewhere": ({SECTION: SECTION + "{{ related | length }}"}, False),
    "other papers": ({SECTION: "{{ related_section(related[:1], root) }}"}, False),
}


@pytest.mark.parametrize("template", list(PAPER_TEMPLATES))
def test_pages_rendered_while_ranking_equal_pages_rendered_after_it(
    template: str, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cold build renders paper pages before their related papers are ranked, then fills
    the related papers in; it renders the pages after the ranking when the templates need
    the related papers otherwise. Either way the bytes are those of pages rendered after."""
    from generator import pagewriter

    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.delenv("CI", raising=False)
    edits, early = PAPER_TEMPLATES[template]
    rendered: list[int] = []
    real = pagewriter._render_early

    def spy(site: object) -> dict:
        found = real(site)  # type: ignore[arg-type]
        rendered.append(len(found))
        return found

    monkeypatch.setattr(pagewriter, "_render_early", spy)
    sites = []
    for name, most in (("early", pagewriter.EARLY_PAGES), ("after", 0)):
        monkeypatch.setattr(pagewriter, "EARLY_PAGES", most)
        root = make_project(tmp_path / name, papers=True)
        paper = root / "templates" / "paper.html"
        text = paper.read_text()
        for old, new in edits.items():
            assert old in text
            text = text.replace(old, new)
        paper.write_text(text)
        cli(root, "build", "-q")
        sites.append({k: v[0] for k, v in snapshot(root / "_site").items()})
    assert rendered == [359 if early else 0, 0]
    assert sites[0].keys() == sites[1].keys()
    assert [k for k in sites[0] if sites[0][k] != sites[1][k]] == []
    related = sites[0]["papers/a-brief-review-of-hypernetworks-in-deep-learning.html"].count(
        b'id="related-heading"'
    )
    assert related == {"section twice": 2, "no section": 0}.get(template, 1)


def test_strict_mode_reports_every_warning_and_keeps_the_old_site(project: Path, cli) -> None:
    cli(project, "build")
    before = snapshot(project / "_site")
    for title, topic in ((MIP, "no-such-topic"), ("Pointer Networks", "another-missing")):
        path = project / "content" / "papers" / f"{slugify(title)}.yaml"
        path.write_text(
            path.read_text(encoding="utf-8").replace("topics: null", f"topics: [{topic}]"),
            encoding="utf-8",
        )
    result = cli(project, "build", "--strict", ok=False)
    assert result.exit_code == 1
    assert "no-such-topic" in result.output and "another-missing" in result.output
    assert snapshot(project / "_site") == before
    relaxed = cli(project, "build")  # without --strict: warnings, exit 0
    assert "warning:" in relaxed.output and "no-such-topic" in relaxed.output


def test_ci_environment_turns_strict_on(
    project: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project / "content" / "pages"
    path.mkdir(exist_ok=True)
    (path / "about.md").write_text("[broken](missing-page.html)\n", encoding="utf-8")
    monkeypatch.setenv("CI", "true")
    result = cli(project, "build", ok=False)
    assert result.exit_code == 1 and "broken link 'missing-page.html'" in result.output


def test_links_to_static_files_beside_the_search_payload_resolve(project: Path, cli) -> None:
    """Links are checked before the search payload is written; other files in search/ count."""
    (project / "site_src" / "search").mkdir()
    (project / "site_src" / "search" / "tips.txt").write_text("Quote phrases.\n", "utf-8")
    pages = project / "content" / "pages"
    pages.mkdir(exist_ok=True)
    about = "[tips](search/tips.txt), [gone](search/gone.txt), [search](search.html)\n"
    (pages / "about.md").write_text(about, encoding="utf-8")
    result = cli(project, "build", "--strict", ok=False)
    assert result.exit_code == 1
    assert "about.html: broken link 'search/gone.txt'" in result.output
    assert "tips.txt" not in result.output and "search.html" not in result.output


def test_failed_build_leaves_previous_output_untouched(project: Path, cli) -> None:
    cli(project, "build")
    before = snapshot(project / "_site")
    (project / "templates" / "paper.html").write_text("{% block broken %}", encoding="utf-8")
    result = cli(project, "build", ok=False)
    assert result.exit_code == 1
    assert "templates/paper.html:1: template error: Unexpected end of template" in result.output
    assert snapshot(project / "_site") == before
    assert not [p for p in project.iterdir() if p.name.startswith("._site.tmp")]
    shutil.rmtree(project / "_site")


def _failed_build(project: Path, cli, monkeypatch: pytest.MonkeyPatch, workers: bool) -> str:
    """Run `build --no-ingest` with or without the helper process; return what it printed.

    It must fail with status 1 and no traceback, and leave the previous output as it was.
    """
    before = snapshot(project / "_site")
    if workers:  # the helper reads the last entries, whatever the tuning at this size
        monkeypatch.setattr("generator.store.HEAD_START", 20)
    else:
        monkeypatch.setattr("generator.parallel._enabled", False)
    result = cli(project, "build", "--no-ingest", ok=False)  # no ingest to catch it first
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert snapshot(project / "_site") == before
    assert not [p for p in project.iterdir() if p.name.startswith("._site.tmp")]
    return result.output


@pytest.mark.parametrize("workers", [True, False], ids=["helper", "no-helper"])
def test_a_bad_topic_pattern_fails_the_build(
    project: Path, cli, monkeypatch: pytest.MonkeyPatch, workers: bool
) -> None:
    """The build checks topic rules' regexes last (it never runs them); a bad one stops it."""
    cli(project, "build")
    topics = project / "content" / "topics.yaml"
    lines = topics.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines) if "{pattern: '" in line)
    lines[number] = re.sub(r"pattern: '[^']*'", "pattern: '(unclosed'", lines[number])
    topics.write_text("".join(lines), encoding="utf-8")
    output = _failed_build(project, cli, monkeypatch, workers)
    assert f"{topics}:{number + 1}: pattern: bad regular expression '(unclosed'" in output


def test_a_bad_topic_pattern_stops_the_ingest_a_build_runs_first(project: Path, cli) -> None:
    """With ingest on, the build leaves the regexes to the ingest, which must catch them."""
    cli(project, "build")
    before = snapshot(project / "_site")
    topics = project / "content" / "topics.yaml"
    lines = topics.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines) if "{pattern: '" in line)
    lines[number] = re.sub(r"pattern: '[^']*'", "pattern: 'a[b'", lines[number])
    topics.write_text("".join(lines), encoding="utf-8")
    result = cli(project, "build", ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{topics}:{number + 1}: pattern: bad regular expression 'a[b'" in result.output
    assert snapshot(project / "_site") == before


@pytest.mark.parametrize("workers", [True, False], ids=["helper", "no-helper"])
def test_a_bad_entry_fails_a_cold_build_with_its_place(
    project: Path, cli, monkeypatch: pytest.MonkeyPatch, workers: bool
) -> None:
    """Without cached entries the helper reads the last files; their errors still name them."""
    cli(project, "build")
    last = sorted((project / "content" / "papers").glob("*.yaml"))[-1]
    last.write_text(last.read_text(encoding="utf-8") + "extra: [unclosed\n", encoding="utf-8")
    line = last.read_text(encoding="utf-8").count("\n") + 1  # the parser stops at the end
    shutil.rmtree(project / ".survey-cache")
    output = _failed_build(project, cli, monkeypatch, workers)
    assert f"Error: {last}:{line}: YAML error: did not find expected ','" in output


def test_a_killed_runs_leftovers_are_cleaned_up(project: Path, cli) -> None:
    cli(project, "build")
    stale_build = project / "._site.tmp-killed"
    (stale_build / "papers").mkdir(parents=True)
    stale_entry = project / "content" / "papers" / ".some-paper.yaml.x1y2.tmp"
    stale_entry.write_text("half", encoding="utf-8")
    (project / "content" / "pages").mkdir(exist_ok=True)
    (project / "content" / "pages" / "about.md").write_text("Changed.\n", encoding="utf-8")
    cli(project, "build")
    assert not stale_build.exists() and not stale_entry.exists()


def test_symlinked_topics_file_outside_content_is_refused(
    project: Path, cli, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere.yaml"
    shutil.move(project / "content" / "topics.yaml", outside)
    (project / "content" / "topics.yaml").symlink_to(outside)
    result = cli(project, "build", ok=False)
    assert result.exit_code == 1 and "symlink points outside" in result.output


def test_a_failed_write_is_a_clear_error(project: Path, cli) -> None:
    blocker = project / "not-a-folder"
    blocker.write_text("a file where the output's parent folder should be", encoding="utf-8")
    result = cli(project, "build", "--output", str(blocker / "_site"), ok=False)
    assert result.exit_code == 1
    assert f"Error: {blocker}: File exists" in result.output
    assert "Traceback" not in result.output
