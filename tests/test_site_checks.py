"""Whole-site checks on the shipped content: links resolve (checked twice, by the build's own
checker and by an independent one here), the HTML validates, and axe-core finds no serious
accessibility problems.
"""

from __future__ import annotations

import json
import posixpath
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from browser import error_log, serve
from conftest import REPO
from lxml import etree
from lxml import html as lxml_html

from generator.checks import broken_links, scan_page

TOOLS = REPO / "tests" / "tools" / "node_modules"
VNU = TOOLS / "vnu-jar" / "build" / "dist" / "vnu.jar"
AXE = TOOLS / "axe-core" / "axe.min.js"
URL_ATTRS = ("href", "src", "action", "data-src", "poster", "cite")
SCANNED = ("href", "src", "action")  # the references the build's own scan collects
TOPIC = "hypernetworks"


@pytest.fixture(scope="module")
def site(shipped_site: Path) -> Path:
    """The shipped digests, built once for the session."""
    return shipped_site


# --------------------------------------------------------------------------- links


def _ids(doc) -> set[str]:  # noqa: ANN001
    ids = {el.get("id") for el in doc.iter() if isinstance(el.tag, str) and el.get("id")}
    return ids | {el.get("name") for el in doc.iter("a") if el.get("name")}


def _refs(doc) -> list[tuple[str, str]]:  # noqa: ANN001
    out = []
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        for attr in URL_ATTRS:
            if el.get(attr) is not None:
                out.append((f"<{el.tag} {attr}>", el.get(attr)))
        for part in (el.get("srcset") or "").split(","):
            if part.strip():
                out.append((f"<{el.tag} srcset>", part.split()[0]))
    return out


def independent_link_problems(site: Path) -> list[str]:
    """Resolve every URL in every HTML page, CSS file and feed with real parsers."""
    files = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    docs = {
        rel: lxml_html.parse(str(site / rel)).getroot()
        for rel in sorted(files)
        if rel.endswith(".html")
    }
    ids = {rel: _ids(doc) for rel, doc in docs.items()}
    problems: list[str] = []

    def resolve(page: str, ref: str, where: str, from_root: bool = False) -> None:
        parts = urlsplit(ref.strip())
        if parts.scheme or parts.netloc:
            if parts.scheme not in {"http", "https", "mailto"}:
                problems.append(f"{page}: {where} {ref!r}: not a web link")
            return
        if parts.path.startswith("/") and not from_root:
            problems.append(f"{page}: {where} {ref!r}: root-absolute")
            return
        base = "" if from_root else posixpath.dirname(page)
        target = (
            posixpath.normpath(posixpath.join(base, unquote(parts.path).lstrip("/")))
            if parts.path
            else page
        )
        if target == ".." or target.startswith("../"):
            problems.append(f"{page}: {where} {ref!r}: leaves the site")
            return
        if target not in files and posixpath.join(target, "index.html") in files:
            target = posixpath.join(target, "index.html")
        if target not in files:
            problems.append(f"{page}: {where} {ref!r}: no such file {target}")
        elif parts.fragment and target in ids and unquote(parts.fragment) not in ids[target]:
            problems.append(f"{page}: {where} {ref!r}: no element with id {parts.fragment!r}")

    for rel, doc in docs.items():
        for where, ref in _refs(doc):
            resolve(rel, ref, where, from_root=rel == "404.html")  # 404 links from the site root
    for rel in sorted(f for f in files if f.endswith(".css")):
        for ref in re.findall(
            r"url\(\s*['\"]?([^'\")]+)", (site / rel).read_text(encoding="utf-8")
        ):
            if not ref.startswith("data:"):
                resolve(rel, ref, "css url()")
    for rel in sorted(f for f in files if f.endswith(".xml")):
        for link in (
            etree.parse(str(site / rel)).getroot().iter("{http://www.w3.org/2005/Atom}link")
        ):
            resolve(rel, link.get("href"), "atom link")
    manifest = next(
        f for f in files if re.fullmatch(r"search/manifest\.[0-9a-f]+\.js|search/manifest\.js", f)
    )
    literal = re.search(r"=(\".*\");\s*$", (site / manifest).read_text(encoding="utf-8"), re.S)[1]
    for shard in json.loads(json.loads(literal))["shards"]:
        if not any(
            f.startswith("search/")
            and f.split("/")[-1].split(".")[0] == shard["file"].split(".")[0]
            for f in files
        ):
            problems.append(f"{manifest}: shard {shard['file']} is missing")
    return problems


def test_the_builds_scan_sees_what_an_html_parser_sees_on_every_page(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 300
    for page in pages:
        doc = lxml_html.parse(str(page)).getroot()
        elements = [el for el in doc.iter() if isinstance(el.tag, str)]
        want_refs = [el.get(a) for el in elements for a in SCANNED if el.get(a) is not None]
        want_ids = {el.get("id") for el in elements if el.get("id") is not None}
        refs, ids = scan_page(page.read_text(encoding="utf-8"))
        assert sorted(refs) == sorted(want_refs), page
        assert ids == want_ids, page


def test_the_builds_own_checker_finds_no_broken_links(site: Path) -> None:
    assert broken_links(site) == []


def test_an_independent_parser_finds_no_broken_links(site: Path) -> None:
    assert independent_link_problems(site) == []


MUTATIONS = {  # planted problem -> the reference both checkers must name
    '<a href="nope.html">x</a>': "nope.html",
    '<a href="index.html#no-such-id">x</a>': "index.html#no-such-id",
    '<a href="#not-on-this-page">x</a>': "#not-on-this-page",
    '<script src="js/missing.js"></script>': "js/missing.js",
    '<a href="../../outside.html">x</a>': "../../outside.html",
    '<a href="javascript:alert(1)">x</a>': "javascript:alert(1)",
    '<a href="/index.html">x</a>': "/index.html",
}


def test_both_checkers_catch_planted_problems(site: Path, tmp_path: Path) -> None:
    """The link checkers are tested too: each planted problem must be reported by both."""
    mini = tmp_path / "mini"
    shutil.copytree(site, mini)
    page = mini / "about.html"
    page.write_text(
        page.read_text(encoding="utf-8").replace("</main>", "".join(MUTATIONS) + "</main>"), "utf-8"
    )
    for name, problems in (
        ("broken_links", broken_links(mini)),
        ("independent", independent_link_problems(mini)),
    ):
        about = [p for p in problems if p.startswith("about.html")]
        missed = [ref for ref in MUTATIONS.values() if not any(repr(ref) in p for p in about)]
        assert not missed, f"{name} missed {missed}: {about}"
        assert len(about) == len(MUTATIONS), about


# --------------------------------------------------------------------------- HTML validity


def _validation_subset(site: Path) -> list[Path]:
    pages = [
        "index.html",
        "timeline.html",
        "about.html",
        "search.html",
        "404.html",
        "topics/index.html",
        "digests/index.html",
    ]
    pages += sorted(
        p.relative_to(site).as_posix() for p in (site / "topics").glob(f"{TOPIC}*.html")
    )
    pages += sorted(p.relative_to(site).as_posix() for p in (site / "digests").glob("*.html"))
    papers = sorted(p.relative_to(site).as_posix() for p in (site / "papers").glob("*.html"))
    pages += papers[:: max(1, len(papers) // 20)][:20]
    return [site / p for p in dict.fromkeys(pages)]


def test_html_validates_with_the_nu_checker(site: Path) -> None:
    if not shutil.which("java") or not VNU.is_file():
        pytest.skip("Java or vnu.jar is missing: run tests/tools/ensure.sh")
    files = _validation_subset(site)
    assert len(files) >= 35
    done = subprocess.run(
        ["java", "-jar", str(VNU), "--errors-only", "--format", "json", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(done.stderr or done.stdout)
    errors = [
        f"{m.get('url', '').rsplit('/_site/', 1)[-1]}:{m.get('lastLine')}: {m.get('message')}"
        for m in report["messages"]
        if m.get("type") in {"error", "non-document-error"}
    ]
    assert errors == [], "\n".join(errors[:30])


# --------------------------------------------------------------------------- accessibility


@pytest.mark.browser
def test_axe_finds_no_serious_or_critical_violations(site: Path, chromium_browser) -> None:  # noqa: ANN001
    if not AXE.is_file():
        pytest.skip("axe-core is missing: run tests/tools/ensure.sh")
    paper = sorted((site / "papers").glob("*.html"))[0].relative_to(site).as_posix()
    pages = ["index.html", f"topics/{TOPIC}.html", paper, "search.html?q=network"]
    found = []
    with serve(site) as base:
        for scheme in ("light", "dark"):
            page = chromium_browser.new_page()
            seen = error_log(page)
            page.emulate_media(color_scheme=scheme)
            for rel in pages:
                page.goto(f"{base}/{rel}")
                if rel.startswith("search.html"):
                    page.wait_for_selector("#search-results li", timeout=20_000)
                page.add_script_tag(path=str(AXE))
                violations = page.evaluate(
                    """async () => (await axe.run(document, {resultTypes: ['violations']}))
                         .violations
                         .filter(v => v.impact === 'serious' || v.impact === 'critical')
                         .map(v => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3)
                           .map(n => n.target.join(' ')).join(' | ')}`)"""
                )
                found += [f"{scheme} {rel}: {v}" for v in violations]
            problems = [p for p in seen.problems() if "net::ERR_ABORTED" not in p]
            assert not problems, problems  # (aborted: the next goto cancels a favicon load)
            page.close()
    assert found == [], "\n".join(found)
