"""Untrusted text stays data: hostile titles, abstracts, notes and tags through a real build.

Every vector in tests/fixtures/vectors.txt goes into a paper title, an abstract, a curated
note (Markdown, in link and autolink positions too) and a tag. After `survey build`, every
output file is parsed (HTML with lxml, Atom feeds with lxml, the search payload as JSON inside
a JavaScript string) and must show the vectors as text only; Chromium then opens the
affected pages and must see no dialog and no error.
"""

from __future__ import annotations

import ast
import hashlib
import html
import json
import re
from pathlib import Path
from urllib.parse import urljoin

import pytest
import yaml
from browser import error_log, serve
from click.testing import CliRunner
from lxml import etree
from lxml import html as lxml_html

from generator.cli import main
from generator.markup import render_markdown, tex_to_text
from generator.render import make_environment
from generator.slug import slugify
from generator.yamlio import dumps, load_file
from tests.conftest import REPO, make_project

VECTOR_FILE = REPO / "tests" / "fixtures" / "vectors.txt"
ATOM = "{http://www.w3.org/2005/Atom}"
SAFE_SCHEMES = {"http", "https", "mailto"}
# Elements that data must never be able to create (the templates use none of them).
FORBIDDEN_TAGS = frozenset(
    "img iframe frame frameset object embed applet base style math audio video source template "
    "noscript textarea portal".split()
)
URL_ATTRS = frozenset(
    "href src action formaction srcset poster data background cite ping xlink:href manifest "
    "longdesc".split()
)
# Bare titles (no "Hostile NN:" prefix): vectors whose title keys stay distinct.
BARE = (
    "<script>alert(1)</script>",
    "{{ 7*7 }}",
    "javascript:alert(1)",
    "]]>",
    "&",
    "\u202eevil\u202c",
)
_C0_AND_SPACE = "".join(map(chr, range(0x21)))  # what URL parsing strips from both ends
_ESCAPE = re.compile(r"\\(t|\\|u[0-9a-fA-F]{4})|\\")


def _unescape(line: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match[1]
        if code is None:
            raise ValueError(f"unknown escape in vectors.txt line {line!r}")
        return {"t": "\t", "\\": "\\"}.get(code) or chr(int(code[1:], 16))

    return _ESCAPE.sub(one, line)


def load_vectors() -> list[str]:
    """Read tests/fixtures/vectors.txt, decoding its documented escapes."""
    lines = VECTOR_FILE.read_text(encoding="utf-8").splitlines()
    return [_unescape(line) for line in lines if line.strip() and not line.startswith("#")]


VECTORS = load_vectors()


def flat(text: str) -> str:
    """Collapse whitespace runs the way the digest parser and the search index do."""
    return " ".join(text.split())


def scheme_of(url: str) -> str | None:
    """Return the scheme a browser would use for an attribute value, or None if relative."""
    cleaned = re.sub(r"[\t\n\r]", "", url).strip(_C0_AND_SPACE)
    match = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", cleaned)
    return match[1].lower() if match else None


def url_problem(url: str) -> str | None:
    """Say why a URL from an output file is not allowed, or None when it is fine."""
    scheme = scheme_of(url)
    if scheme is None:
        cleaned = re.sub(r"[\t\n\r]", "", url).strip(_C0_AND_SPACE)
        if cleaned.replace("\\", "/").startswith("//"):
            return f"protocol-relative URL {url!r}"
        return None
    return None if scheme in SAFE_SCHEMES else f"{scheme}: URL {url!r}"


# --------------------------------------------------------------------------- the fixture site


def _papers() -> list[dict]:
    papers = []
    for i, vector in enumerate(VECTORS, start=1):
        papers.append({"n": i, "vector": vector, "title": f"Hostile {i:02d}: {vector}"})
    for j, vector in enumerate(BARE, start=len(VECTORS) + 1):
        papers.append({"n": j, "vector": vector, "title": vector})
    for paper in papers:
        n, vector = paper["n"], paper["vector"]
        paper["abstract"] = (
            f"Hostile abstract {n:02d} holds a vector. Vector follows {vector} and ends. "
            f"Code is at https://github.com/hostile/p{n}. "
            f'See https://example.org/p{n}?a=1&b=2"onmouseover=alert(1) for more.'
        )
        paper["note"] = (
            f"Note {n:02d}: {vector}\n\n"
            f"* item with {vector}\n\n"
            f"[x]({vector}) [js](javascript:alert(1)) <javascript:alert(1)> "
            "[mixed](JaVaScRiPt:alert(1)) [ent](&#106;avascript:alert(1)) "
            "[tab](java&#9;script:alert(1)) [nl](java&#10;script:alert(1)) "
            "[data](data:text/html,<script>alert(1)</script>) [vb](vbscript:msgbox(1)) "
            "[file](file:///etc/passwd) [proto](//evil.example/x) [back](\\\\evil.example/x) "
            "![img](javascript:alert(1)) ![pic](x onerror=alert(1)) [ref][r] "
            "<JAVASCRIPT:alert(1)> <vbscript:msgbox(1)> "
            "[ok](https://example.org/ok) <https://example.org/auto> "
            "[mail](mailto:a@example.org)\n\n"
            "<script>alert(1)</script>\n\n"
            '<a href="javascript:alert(1)">raw</a> <img src=x onerror=alert(1)>\n\n'
            "[r]: javascript:alert(1)\n"
        )
        paper["tags"] = [vector, f"tag-{n:02d}"]
        paper["topics"] = ["hypernetworks"] if n % 2 == 0 else None
        paper["shown_title"] = tex_to_text(flat(paper["title"]))
        paper["shown_abstract"] = flat(paper["abstract"])
    return papers


PAPERS = _papers()


def _digest_text() -> str:
    parts = ["new", "Subscribe", "Daily Papers"]
    for paper in PAPERS:
        parts += [paper["title"], paper["abstract"]]
        if paper["n"] % 3 == 0:
            parts += ["  • 3 authors", "·", f"Apr {paper['n'] % 28 + 1}, 2023 {paper['n']}"]
    return "\n\n".join(parts) + "\n"


def _invoke(root: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--root", str(root), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _curate(root: Path) -> None:
    """Write each paper's hostile curated block, as a person editing the file would."""
    for paper in PAPERS:
        path = root / "content" / "papers" / f"{slugify(paper['title'])}.yaml"
        data = load_file(path)
        assert flat(data["ingest"]["title"]) == flat(paper["title"])
        curated = {"note": paper["note"], "tags": paper["tags"], "topics": paper["topics"]}
        path.write_text(
            dumps({"ingest": data["ingest"]}) + dumps({"curated": curated}), encoding="utf-8"
        )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build a project whose only digest is the hostile one; return its output folder."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", "1767225600")
        mp.delenv("CI", raising=False)
        root = make_project(tmp_path_factory.mktemp("hostile") / "proj", digests=False)
        (root / "content" / "digests" / "hostile.txt").write_text(_digest_text(), encoding="utf-8")
        out = _invoke(root, "ingest")
        assert f"{len(PAPERS)} papers" in out, out
        _curate(root)
        _invoke(root, "build")
    return root / "_site"


def _soup(path: Path):  # noqa: ANN202 - an lxml element tree
    return lxml_html.document_fromstring(
        path.read_bytes(), parser=lxml_html.HTMLParser(encoding="utf-8")
    )


def _text(element) -> str:  # noqa: ANN001
    return element.text_content()


def _paper_page(site: Path, paper: dict) -> Path:
    return site / "papers" / f"{slugify(paper['title'])}.html"


# --------------------------------------------------------------------------- HTML


def test_vectors_file_has_the_required_vectors() -> None:
    required = {
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "</script><script>alert(1)</script>",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "&#106;avascript:alert(1)",
        "java\tscript:alert(1)",
        "{{ 7*7 }}",
        "{% raw %}",
        "]]>",
        "&",
        "&amp;",
        "\u2028",
        "\u2029",
        "<svg onload=alert(1)>",
    }
    assert required <= set(VECTORS)
    assert any("\u202e" in v for v in VECTORS)
    assert len(set(VECTORS)) == len(VECTORS), "duplicate vectors"


def test_every_html_page_has_only_the_sites_own_markup(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > len(PAPERS)
    own_scripts = {"http://site/" + p.relative_to(site).as_posix() for p in site.rglob("*.js")}
    template_text = "".join(p.read_text(encoding="utf-8") for p in (REPO / "templates").iterdir())
    raw_checked = [v for v in VECTORS if any(c in v for c in '<>"') and v not in template_text]
    problems: list[str] = []
    for page in pages:
        rel = page.relative_to(site).as_posix()
        raw = page.read_text(encoding="utf-8")
        for vector in raw_checked:
            if vector in raw:
                problems.append(f"{rel}: raw vector {vector!r} in the HTML source")
        doc = _soup(page)
        for el in doc.iter():
            if not isinstance(el.tag, str):
                if isinstance(el, etree._ProcessingInstruction):
                    problems.append(f"{rel}: processing instruction {el!r}")
                continue
            tag = el.tag.lower()
            if tag in FORBIDDEN_TAGS:
                problems.append(f"{rel}: forbidden element <{tag}>")
            if tag == "script":
                src = el.get("src")
                target = urljoin("http://site/" + rel, src or "")
                if not src or (el.text or "").strip() or target not in own_scripts:
                    problems.append(
                        f"{rel}: script not from the site: {etree.tostring(el)[:120]!r}"
                    )
            if tag == "meta" and el.get("http-equiv"):
                problems.append(f"{rel}: <meta http-equiv>")
            if tag == "link" and el.get("rel") not in {"stylesheet", "alternate", "icon"}:
                problems.append(f"{rel}: unexpected <link rel={el.get('rel')!r}>")
            if tag == "svg" and not el.get("class", "").startswith("chart-"):
                problems.append(f"{rel}: <svg> that is not a site chart")
            for name, value in el.attrib.items():
                lname = name.lower()
                if lname.startswith("on"):
                    problems.append(f"{rel}: event handler attribute {name}={value!r} on <{tag}>")
                if lname == "style":
                    problems.append(f"{rel}: style attribute on <{tag}>")
                if lname in URL_ATTRS and (why := url_problem(value)):
                    problems.append(f"{rel}: <{tag} {name}>: {why}")
    assert not problems, "\n".join(problems[:40])


def test_vectors_show_as_literal_text_on_paper_pages(site: Path) -> None:
    for paper in PAPERS:
        doc = _soup(_paper_page(site, paper))
        (h1,) = doc.xpath("//h1")
        assert _text(h1) == paper["shown_title"]
        assert paper["shown_title"] in _text(doc.xpath("//title")[0])
        (abstract,) = doc.xpath("//p[contains(@class, 'abstract')]")
        assert _text(abstract) == paper["shown_abstract"]
        tags = [_text(t) for t in doc.xpath("//span[@class='tag']")]
        assert tags == paper["tags"]
        (note,) = doc.xpath("//section[contains(@class, 'note')]//div[@class='prose']")
        # Markdown decodes entities and turns `__x__` into emphasis; the rest must be literal.
        note_text = flat(_text(note)).replace("_", "")
        assert flat(html.unescape(paper["vector"])).replace("_", "") in note_text
        assert "<script>alert(1)</script>" in note_text  # raw HTML shown as text
        hrefs = [a.get("href") for a in note.iter("a")]
        assert "https://example.org/ok" in hrefs and "https://example.org/auto" in hrefs
        assert "mailto:a@example.org" in hrefs
        assert all(url_problem(h) is None for h in hrefs), hrefs


def test_jinja_syntax_is_printed_not_evaluated(site: Path) -> None:
    for paper in PAPERS:
        if paper["vector"] not in {"{{ 7*7 }}", "{% raw %}", "{{ config.__class__ }}"}:
            continue
        doc = _soup(_paper_page(site, paper))
        where = "//h1 | //p[@class='abstract'] | //span[@class='tag'] | //div[@class='prose']"
        shown = " | ".join(_text(el) for el in doc.xpath(where))
        assert paper["vector"] in _text(doc.xpath("//h1")[0])
        assert shown.count(paper["vector"]) >= 3  # title, abstract, tag (and note, bar Markdown)
        if paper["vector"] == "{{ 7*7 }}":
            assert "49" not in shown
        assert "<class" not in shown and "Config(" not in shown


def test_only_http_links_from_abstracts_become_hrefs(site: Path) -> None:
    for paper in PAPERS:
        doc = _soup(_paper_page(site, paper))
        links = [a.get("href") for a in doc.xpath("//ul[@class='paper-links']//a")]
        n = paper["n"]
        assert links == [f"https://github.com/hostile/p{n}", f"https://example.org/p{n}?a=1&b=2"]
        (code,) = doc.xpath(
            "(//article//p[@class='paper-meta'])[1]//a[contains(@class, 'badge-code')]"
        )
        assert code.get("href") == f"https://github.com/hostile/p{n}"


def test_hand_edited_links_with_other_schemes_never_become_hrefs(tmp_path: Path, cli) -> None:
    """Links in the `ingest:` block are data too: a hand edit must not smuggle in javascript:."""
    root = make_project(tmp_path / "proj", digests=False)
    paper = PAPERS[0]
    (root / "content" / "digests" / "one.txt").write_text(
        f"new\n\n{paper['title']}\n\n{paper['abstract']}\n", encoding="utf-8"
    )
    cli(root, "ingest")
    path = root / "content" / "papers" / f"{slugify(paper['title'])}.yaml"
    data = load_file(path)
    bad = [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(2)",
        " javascript:alert(3)",
        "java\tscript:alert(4)",
        "data:text/html,<script>alert(5)</script>",
        "vbscript:msgbox(6)",
        "//evil.example/7",
        "file:///etc/passwd",
    ]
    data["ingest"]["links"] = [
        {"url": url, "kind": kind} for url in bad for kind in ("code", "project")
    ]
    path.write_text(dumps(data), encoding="utf-8")
    cli(root, "build", "--no-ingest")
    site = root / "_site"
    for page in sorted(site.rglob("*.html")):
        for el in _soup(page).iter():
            if isinstance(el.tag, str) and el.get("href") is not None:
                href = el.get("href")
                assert url_problem(href) is None, f"{page.relative_to(site)}: {href!r}"
                assert scheme_of(href) in {None, "http", "https"}, (
                    f"{page.relative_to(site)}: {href!r}"
                )


# --------------------------------------------------------------------------- feeds and search


def test_atom_feeds_carry_the_vectors_as_text(site: Path) -> None:
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    allowed = {
        "feed": set(),
        "id": set(),
        "title": {"type"},
        "subtitle": {"type"},
        "updated": set(),
        "author": set(),
        "name": set(),
        "link": {"rel", "type", "href"},
        "generator": set(),
        "entry": set(),
        "category": {"term"},
        "summary": {"type"},
    }
    feeds = sorted(site.rglob("*.xml"))
    assert feeds
    titles: set[str] = set()
    for feed in feeds:
        tree = etree.parse(str(feed), parser)
        assert tree.docinfo.internalDTD is None and tree.docinfo.doctype == ""
        assert tree.getroot().tag == f"{ATOM}feed"
        for el in tree.getroot().iter():
            assert isinstance(el.tag, str), f"{feed.name}: comment or PI {el!r}"
            assert el.tag.startswith(ATOM), f"{feed.name}: foreign element {el.tag}"
            local = el.tag[len(ATOM) :]
            assert local in allowed, f"{feed.name}: unexpected element {local}"
            assert set(el.attrib) <= allowed[local], f"{feed.name}: {local} {dict(el.attrib)}"
            if local in {"title", "summary", "subtitle"}:
                assert el.get("type") == "text"
            if local == "link":
                assert url_problem(el.get("href")) is None
        for entry in tree.getroot().iter(f"{ATOM}entry"):
            titles.add(entry.findtext(f"{ATOM}title"))
            summary = entry.findtext(f"{ATOM}summary")
            assert any(summary == p["shown_abstract"] for p in PAPERS), summary
    assert {p["shown_title"] for p in PAPERS} <= titles


_JSON_STRING = r'"(?:[^"\\\x00-\x1f<>&\u2028\u2029]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"'
_PAYLOAD = re.compile(
    r"\(window\.SurveySearchData=window\.SurveySearchData\|\|\{\}\)"
    r'\["(?:manifest|s[0-9]+)"\]=(' + _JSON_STRING + r");\n",
)


def test_search_payload_is_one_string_assignment_with_the_vectors_intact(site: Path) -> None:
    files = sorted((site / "search").glob("*.js"))
    assert files, "no search payload"
    rows = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        match = _PAYLOAD.fullmatch(text)
        assert match, f"{path.name} is not a single string assignment: {text[:200]!r}"
        assert "\u2028" not in text and "\u2029" not in text and "</" not in text
        value = json.loads(json.loads(match[1]))
        if isinstance(value, dict) and "docs" in value:
            rows += value["docs"]
    by_title = {row[0]: row for row in rows}
    for paper in PAPERS:
        assert flat(paper["shown_title"]) in by_title, paper["shown_title"]
        row = by_title[flat(paper["shown_title"])]
        assert row[1] == f"papers/{slugify(paper['title'])}.html"
        assert flat(paper["vector"]) in row[4]  # the excerpt: the vector is in its first 200 chars


def test_every_other_output_file_is_a_copy_of_a_site_source(site: Path) -> None:
    sources = {
        hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (REPO / "site_src").rglob("*")
        if p.is_file()
    }
    for path in site.rglob("*"):
        rel = path.relative_to(site).as_posix()
        if path.is_dir() or rel.endswith((".html", ".xml")) or rel.startswith("search/"):
            continue
        assert hashlib.sha256(path.read_bytes()).hexdigest() in sources, (
            f"{rel} is not a copied source"
        )


# --------------------------------------------------------------------------- protections


def test_markdown_notes_have_raw_html_disabled_and_only_safe_link_schemes() -> None:
    out = str(
        render_markdown(
            "<script>alert(1)</script>\n\n"
            "<b onclick=alert(1)>x</b> <img src=x onerror=alert(1)>\n\n"
            "[a](javascript:alert(1)) [b](https://example.org/) [c](mailto:x@example.org) "
            "<javascript:alert(1)> ![i](https://example.org/i.png) [d](data:text/html,x)\n"
        )
    )
    doc = lxml_html.fragment_fromstring(out, create_parent="div")
    assert [el.tag for el in doc.iter() if el.tag in {"script", "b", "img"}] == []
    assert [a.get("href") for a in doc.iter("a")] == [
        "https://example.org/",
        "mailto:x@example.org",
        "https://example.org/i.png",
    ]
    assert "<script>alert(1)</script>" in doc.text_content()


def test_autoescape_is_on_for_every_template() -> None:
    templates = REPO / "templates"
    env = make_environment(templates)
    names = sorted(p.relative_to(templates).as_posix() for p in templates.rglob("*") if p.is_file())
    assert names
    for name in names:
        decision = env.autoescape(name) if callable(env.autoescape) else env.autoescape
        assert decision is True, f"autoescape is {decision!r} for {name}"
        source = (templates / name).read_text(encoding="utf-8")
        assert not re.search(r"{%-?\s*autoescape\s+false", source), f"{name} turns autoescape off"
    probe = env.from_string("{{ x }}").render(x="<script>")
    assert probe == "&lt;script&gt;"


# --------------------------------------------------------------------------- source scan

# Markup(...) wraps text that will NOT be escaped again. Only these places may build it, and
# each one escapes or sanitises everything it puts inside.
MARKUP_ALLOWED = {
    ("generator/markup.py", "render_markdown"): "markdown-it with html=False and validateLink "
    "restricted to http(s)/mailto/relative: its output is sanitised HTML",
    ("generator/charts.py", "papers_per_year_chart"): "SVG built from numbers and escape()d labels",
}
UNSAFE_YAML = {
    "unsafe_load",
    "unsafe_load_all",
    "Loader",
    "FullLoader",
    "UnsafeLoader",
    "full_load",
    "full_load_all",
    "CLoader",
    "CFullLoader",
    "CUnsafeLoader",
}


def _python_sources() -> list[Path]:
    return sorted((REPO / "generator").rglob("*.py"))


def _enclosing_functions(tree: ast.AST) -> dict[ast.AST, str]:
    """Map each node to the innermost function around it (ast.walk visits outer ones first)."""
    owner: dict[ast.AST, str] = {}
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(func):
                if node is not func:
                    owner[node] = func.name
    return owner


def test_source_scan_yaml_is_only_loaded_safely() -> None:
    problems = []
    for path in _python_sources():
        rel = path.relative_to(REPO).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "yaml"
            ):
                if node.attr in UNSAFE_YAML:
                    problems.append(f"{rel}:{node.lineno}: yaml.{node.attr}")
                if node.attr in {"load", "load_all"} and rel != "generator/yamlio.py":
                    problems.append(f"{rel}:{node.lineno}: yaml.{node.attr} outside yamlio.py")
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("yaml"):
                names = {alias.name for alias in node.names}
                if names & (UNSAFE_YAML | {"load", "load_all"}):
                    problems.append(f"{rel}:{node.lineno}: from yaml import {sorted(names)}")
    assert not problems, "\n".join(problems)
    from generator import yamlio

    safe_bases = tuple(c for c in (yaml.SafeLoader, getattr(yaml, "CSafeLoader", None)) if c)
    assert issubclass(yamlio._Loader, safe_bases)
    source = (REPO / "generator" / "yamlio.py").read_text(encoding="utf-8")
    assert re.findall(r"yaml\.load\(([^)]*)\)", source) == ["text, Loader=_Loader"]


def test_source_scan_markup_only_in_allowed_places() -> None:
    problems = []
    for path in _python_sources():
        rel = path.relative_to(REPO).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        owner = _enclosing_functions(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            if name != "Markup":
                continue
            if all(
                isinstance(arg, ast.Constant) and isinstance(arg.value, str) for arg in node.args
            ):
                continue  # Markup("") and other literals carry no data
            if (rel, owner.get(node)) not in MARKUP_ALLOWED:
                problems.append(f"{rel}:{node.lineno}: Markup(...) in {owner.get(node)}")
    assert not problems, "\n".join(problems)


def test_source_scan_templates_and_scripts() -> None:
    problems = []
    for path in sorted((REPO / "templates").rglob("*")):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            for match in re.finditer(r"\|\s*safe\b|\bMarkup\b|autoescape\s+false", text):
                line = text.count("\n", 0, match.start()) + 1
                problems.append(f"{path.relative_to(REPO)}:{line}: {match[0]}")
    sink = re.compile(
        r"\b(innerHTML|outerHTML|insertAdjacentHTML|document\.write(?:ln)?|eval\s*\(|"
        r"new\s+Function\b|srcdoc)"
    )
    scripts = [
        p
        for p in (REPO / "site_src").rglob("*.js")
        if "vendor" not in p.relative_to(REPO / "site_src").parts
    ]
    assert scripts
    for path in scripts:
        text = path.read_text(encoding="utf-8")
        for match in sink.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            problems.append(f"{path.relative_to(REPO)}:{line}: {match[0]}")
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- in Chromium


@pytest.mark.browser
def test_chromium_runs_no_data_as_code(site: Path, chromium_browser) -> None:  # noqa: ANN001
    paths = [_paper_page(site, p).relative_to(site).as_posix() for p in PAPERS]
    paths += [
        "index.html",
        "timeline.html",
        "topics/hypernetworks.html",
        "topics/other.html",
        "topics/hypernetworks-title.html",
        "digests/hostile.html",
    ]
    queries = [
        "hostile",
        "vector",
        "<script>alert(1)</script>",
        "javascript:alert(1)",
        "{{ 7*7 }}",
        "]]>",
    ]
    with serve(site) as base:
        page = chromium_browser.new_page()
        seen = error_log(page)
        for rel in paths:
            page.goto(f"{base}/{rel}")
            page.wait_for_load_state("load")
            _assert_live_dom_clean(page, rel)
        for query in queries:
            page.goto(f"{base}/search.html?q={_quote(query)}")
            if query in {"hostile", "vector"}:
                page.wait_for_selector("#search-results li a", timeout=20_000)
                shown = page.inner_text("#search-results")
                assert "{{ 7*7 }}" in shown or query == "vector"
            page.wait_for_timeout(150)
            _assert_live_dom_clean(page, f"search {query!r}")
        page.goto(f"{base}/{paths[0]}")
        page.fill("#site-search-q", "hostile")
        page.wait_for_selector(".search-dropdown a", timeout=20_000)
        _assert_live_dom_clean(page, "header dropdown")
        page.close()
    # Moving on to the next page aborts its predecessor's favicon load: that is not an error.
    problems = [p for p in seen.problems() if "net::ERR_ABORTED" not in p]
    assert not problems, "\n".join(problems)


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def _assert_live_dom_clean(page, where: str) -> None:  # noqa: ANN001
    found = page.evaluate(
        """() => {
          const out = [];
          for (const el of document.querySelectorAll('*')) {
            for (const attr of el.attributes) {
              if (/^on/i.test(attr.name)) out.push(`${el.tagName} ${attr.name}`);
            }
            const tag = el.tagName.toLowerCase();
            if (['img', 'iframe', 'object', 'embed', 'base', 'style'].includes(tag)) out.push(tag);
            if (tag === 'script' && (!el.src || el.textContent.trim())) out.push('inline script');
            if (tag === 'script' && el.src && new URL(el.src).origin !== location.origin) {
              out.push(el.src);
            }
            if (el.hasAttribute('href')) {
              const scheme = new URL(el.getAttribute('href'), location.href).protocol;
              const ok = ['http:', 'https:', 'mailto:'].includes(scheme);
              if (!ok) out.push('href ' + el.getAttribute('href'));
            }
          }
          return out;
        }"""
    )
    assert not found, f"{where}: {found}"
