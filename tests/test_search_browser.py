"""The search UI in headless Chromium, on a tiny fixture site, over file:// and http://."""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import serve

from generator.search import SearchDoc, build_search_files, prepare_query

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'"
HOSTILE_TITLE = "</script><script>alert(1)</script> pruning trick"
IMG_TITLE = '<img src=x onerror="alert(2)"> pruning attack'

DOCS = [
    SearchDoc("papers/cafe.html", "Café culture in diffusion models", "We study the café effect "
              "in diffusion models.", topics=("Diffusion",), year=2024, date_label="Mar 3, 2024",
              date_iso="2024-03-03"),
    SearchDoc("papers/diffusion-policy.html", "Diffusion policies for robots",
              "Robots learn with diffusion.", topics=("Diffusion", "Robotics"), year=2023,
              date_iso="2023-06-01"),
    SearchDoc("papers/diffusion-audio.html", "Audio generation",
              "A diffusion model for audio.", topics=("Audio",), year=2022),
    SearchDoc("papers/prune.html", "Pruning large language models",
              "We prune (e.g., 50%) of weights. " + "Filler words here. " * 20 + "diffusion late.",
              topics=("Pruning",), year=2024, date_iso="2024-01-09"),
    SearchDoc("papers/emoji.html", "😀 Emoji tokens and naïve café models",
              "Astral 𝔘nicode café text.", topics=("Unicode",), year=2021),
    SearchDoc("papers/hostile.html", HOSTILE_TITLE, "A script in a title.", year=2020),
    SearchDoc("papers/img.html", IMG_TITLE, "An image tag in a title.", year=2020),
    SearchDoc("papers/delay.html", "Delay-tolerant display keys",
              "Everyday delays in key arrays.", year=2023),
]  # fmt: skip

HEADER = (
    '<header><form class="site-search" role="search" action="{root}search.html" method="get">'
    '<label for="site-search-q">Search</label>'
    '<input id="site-search-q" name="q" type="search" autocomplete="off"></form></header>'
)
SEARCH_MAIN = """<main><h1>Search</h1>
<form id="search-form" action="search.html" method="get">
<label for="search-q">Search papers</label><input id="search-q" name="q" type="search">
<select id="search-topic" name="topic"><option value="">All topics</option></select>
<select id="search-year" name="year"><option value="">All years</option></select>
<button type="submit">Search</button></form>
<p id="search-status" role="status" aria-live="polite"></p>
<ol id="search-results"></ol></main>"""


def page_html(root: str, title: str, main: str) -> str:
    """Return a fixture page following the DOM contract of site_src/js/search.js."""
    scripts = "".join(
        f'<script src="{root}{src}"></script>'
        for src in ("vendor/lunr/lunr.js", "search/manifest.js", "js/search.js")
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>{html.escape(title)}</title></head>"
        f'<body data-root="{root}">{HEADER.format(root=root)}{main}{scripts}</body></html>'
    )


def write_site(dest: Path, docs: list[SearchDoc], shard_size: int = 2000) -> Path:
    """Write search.html, index.html, one page per paper, the payload and the scripts."""
    for name, data in build_search_files(docs, shard_size=shard_size).items():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        (dest / name).write_bytes(data)
    for rel in ("vendor/lunr/lunr.js", "js/search.js"):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "site_src" / rel, dest / rel)
    (dest / "favicon.ico").write_bytes(b"")
    (dest / "search.html").write_text(page_html("./", "Search", SEARCH_MAIN), "utf-8")
    (dest / "index.html").write_text(page_html("./", "Home", "<main><h1>Home</h1></main>"))
    (dest / "papers").mkdir(exist_ok=True)
    for doc in docs:
        main = f'<main><h1 id="paper-title">{html.escape(doc.title)}</h1></main>'
        (dest / doc.url).write_text(page_html("../", doc.title, main), "utf-8")
    return dest


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_site(tmp_path_factory.mktemp("site"), DOCS)


@pytest.fixture(params=["file", "http"])
def base(request: pytest.FixtureRequest, site: Path) -> Iterator[str]:
    """The fixture site's base URL, opened from disk and over HTTP."""
    if request.param == "file":
        yield site.as_uri()
        return
    with serve(site) as url:
        yield url


def open_search(page: Any, base: str, query: str = "") -> None:
    page.goto(f"{base}/search.html{query}")
    page.wait_for_function("() => document.getElementById('search-status').textContent !== ''")


def wait_results(page: Any, count: int) -> list[str]:
    page.wait_for_function(
        """n => document.querySelectorAll('#search-results > li').length === n
        && !document.getElementById('search-status').textContent.startsWith('Loading')""",
        arg=count,
    )
    return page.locator("#search-results > li .search-result-title").all_text_contents()


def type_query(page: Any, text: str, count: int) -> list[str]:
    page.fill("#search-q", text)
    return wait_results(page, count)


def status(page: Any) -> str:
    return page.locator("#search-status").text_content()


# ---------------------------------------------------------------- the search page


def test_typing_shows_results_with_highlights(page: Any, base: str) -> None:
    open_search(page, base)
    assert status(page) == f"Type to search {len(DOCS)} papers."
    titles = type_query(page, "diffusion", 4)
    assert titles[:2] == ["Café culture in diffusion models", "Diffusion policies for robots"]
    assert status(page) == "4 results for \u201cdiffusion\u201d."
    first = page.locator("#search-results > li").first
    assert first.get_attribute("class") == "search-result"
    assert first.locator(".search-result-title mark").all_text_contents() == ["diffusion"]
    assert first.locator(".search-excerpt mark").all_text_contents() == ["diffusion"]
    assert first.locator(".search-meta").text_content() == "Mar 3, 2024 \u00b7 Diffusion"
    page.fill("#search-q", "")
    wait_results(page, 0)
    assert status(page) == f"Type to search {len(DOCS)} papers."
    page.errors.assert_clean()


def test_words_ending_in_y_find_their_paper(page: Any, base: str) -> None:
    # The index is stemmed as lunr.js stems the query ("delay", not lunr.py's "delai").
    open_search(page, base)
    for query in ("delay", "delays", "display", "keys", "everyday", "arrays"):
        assert type_query(page, query, 1) == ["Delay-tolerant display keys"], query


def test_filters_narrow_results(page: Any, base: str) -> None:
    open_search(page, base)
    assert page.locator("#search-topic option").all_text_contents() == [
        "All topics", "Audio", "Diffusion", "Pruning", "Robotics", "Unicode",
    ]  # fmt: skip
    assert page.locator("#search-year option").all_text_contents()[:3] == [
        "All years", "2024", "2023",
    ]  # fmt: skip
    type_query(page, "diffusion", 4)
    page.select_option("#search-topic", "Diffusion")
    assert wait_results(page, 2)[1] == "Diffusion policies for robots"
    page.select_option("#search-year", "2023")
    assert wait_results(page, 1) == ["Diffusion policies for robots"]
    assert "topic=Diffusion" in page.url and "year=2023" in page.url
    page.select_option("#search-topic", "Audio")
    wait_results(page, 0)
    assert status(page).startswith("No results for \u201cdiffusion\u201d in Audio, 2023.")
    page.errors.assert_clean()


@pytest.mark.parametrize("mode", ["syntax", "markup"])
def test_hostile_queries_are_harmless(page: Any, base: str, mode: str) -> None:
    queries = {
        "syntax": ["foo:", "a~", "^", "title:", "+", "-", '"unmatched', "+(", "~", "*" * 300],
        "markup": ["</script><script>alert(1)</script>", "<img src=x onerror=alert(1)>",
                   "x" * 5000, "\u2028\u2029", "abc~99 def~50", "\ud83d"],
    }[mode]  # fmt: skip
    open_search(page, base)
    for query in queries:
        if query == "\ud83d":  # a lone surrogate cannot travel as UTF-8; set it in the page
            page.evaluate(SET_LONE_SURROGATE)
        else:
            page.fill("#search-q", query)
        prepared = prepare_query(query)
        expected = f"\u201c{prepared}\u201d" if prepared else f"Type to search {len(DOCS)} papers."
        page.wait_for_function(
            "text => document.getElementById('search-status').textContent.includes(text)",
            arg=expected,
        )
    assert page.locator("#search-results img").count() == 0
    page.errors.assert_clean()


SET_LONE_SURROGATE = """() => {
  const box = document.getElementById('search-q');
  box.value = String.fromCharCode(0xd83d);
  box.dispatchEvent(new Event('input'));
}"""


def test_query_string_restores_search(page: Any, base: str) -> None:
    open_search(page, base, "?q=caf%C3%A9&topic=Diffusion")
    assert wait_results(page, 1) == ["Café culture in diffusion models"]
    assert page.input_value("#search-q") == "café"
    assert page.input_value("#search-topic") == "Diffusion"
    assert page.input_value("#site-search-q") == "café"
    page.errors.assert_clean()


def test_back_button_restores_previous_search(page: Any, base: str) -> None:
    open_search(page, base)
    page.fill("#search-q", "pruning")
    page.press("#search-q", "Enter")
    wait_results(page, 3)
    page.fill("#search-q", "robots")
    page.press("#search-q", "Enter")
    wait_results(page, 1)
    assert page.url.endswith("/search.html?q=robots")
    page.go_back()
    assert wait_results(page, 3)[0] == "Pruning large language models"
    assert page.input_value("#search-q") == "pruning"
    page.errors.assert_clean()


def test_clicking_a_result_opens_the_paper(page: Any, base: str) -> None:
    open_search(page, base, "?q=robots")
    wait_results(page, 1)
    page.click("#search-results .search-result-title a")
    page.wait_for_url("**/papers/diffusion-policy.html")
    assert page.text_content("#paper-title") == "Diffusion policies for robots"
    page.errors.assert_clean()


def test_highlights_land_right_after_astral_characters(page: Any, base: str) -> None:
    open_search(page, base, "?q=caf%C3%A9")
    wait_results(page, 2)
    emoji = page.locator("#search-results > li", has_text="Emoji")
    assert emoji.locator(".search-result-title mark").all_text_contents() == ["café"]
    assert emoji.locator(".search-excerpt mark").all_text_contents() == ["café"]
    page.errors.assert_clean()


def test_hostile_titles_render_as_text(page: Any, base: str) -> None:
    open_search(page, base, "?q=pruning")
    titles = wait_results(page, 3)
    assert HOSTILE_TITLE in titles and IMG_TITLE in titles
    assert page.locator("#search-results img, #search-results script").count() == 0
    page.errors.assert_clean()


def test_slash_focuses_the_search_box(page: Any, base: str) -> None:
    open_search(page, base)
    page.click("h1")
    page.keyboard.press("/")
    assert page.evaluate("() => document.activeElement.id") == "search-q"
    page.goto(f"{base}/papers/prune.html")
    page.click("h1")
    page.keyboard.press("/")
    assert page.evaluate("() => document.activeElement.id") == "site-search-q"
    page.keyboard.type("ab/")  # inside a box, "/" is just a character
    assert page.input_value("#site-search-q") == "ab/"
    page.errors.assert_clean()


# ---------------------------------------------------------------- the header box


def test_header_box_shows_a_dropdown_and_enter_opens_search(page: Any, base: str) -> None:
    page.goto(f"{base}/papers/prune.html")
    page.fill("#site-search-q", "diffusion")
    dropdown = page.locator("#site-search-dropdown")
    dropdown.locator(".search-dropdown-item").first.wait_for()
    links = dropdown.locator(".search-dropdown-item a")
    assert links.count() == 4
    assert links.first.get_attribute("href") == "../papers/cafe.html"
    assert dropdown.locator(".search-dropdown-all a").text_content() == "All 4 results"
    page.press("#site-search-q", "Escape")
    assert dropdown.is_hidden()
    page.fill("#site-search-q", "diffusion")  # Escape also clears a type=search box
    page.press("#site-search-q", "Enter")
    page.wait_for_url(lambda url: url.endswith("/search.html?q=diffusion"))
    assert len(wait_results(page, 4)) == 4
    page.errors.assert_clean()


def test_header_dropdown_keyboard_navigation(page: Any, base: str) -> None:
    page.goto(f"{base}/index.html")
    page.fill("#site-search-q", "robots")
    page.locator(".search-dropdown-item").first.wait_for()
    page.press("#site-search-q", "ArrowDown")
    assert (
        page.evaluate("() => document.activeElement.textContent") == "Diffusion policies for robots"
    )
    page.keyboard.press("Enter")
    page.wait_for_url("**/papers/diffusion-policy.html")
    page.errors.assert_clean()


# ---------------------------------------------------------------- several shards


@pytest.fixture(scope="module")
def sharded_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_site(tmp_path_factory.mktemp("sharded"), DOCS, shard_size=2)


@pytest.mark.parametrize("mode", ["file", "http"])
def test_several_shards_load_and_merge(page: Any, sharded_site: Path, mode: str) -> None:
    assert len(list((sharded_site / "search").glob("index-*.js"))) == 4
    with serve(sharded_site) as url:
        open_search(page, url if mode == "http" else sharded_site.as_uri(), "?q=diffusion")
        titles = wait_results(page, 4)
        scripts = page.eval_on_selector_all(
            "script[src*='search/index-']", "nodes => nodes.map(n => n.getAttribute('src'))"
        )
        # Leave the page while the server still answers: Chromium asks for the icon late,
        # and a request the closing server drops is reported as a reset connection.
        page.goto("about:blank")
    assert titles[:2] == ["Café culture in diffusion models", "Diffusion policies for robots"]
    assert [re.sub(r"\.[0-9a-f]{10}\.js$", ".js", s) for s in scripts] == [
        f"./search/index-{i}.js" for i in range(4)
    ]
    page.errors.assert_clean()
