"""The real site, built from the shipped digests, in headless Chromium (file:// and http://).

Search as a reader uses it (type, see papers, filter, follow a result, share the URL,
hostile input) and the main pages rendered at desktop and phone widths.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import error_log, serve

from generator.slug import slugify

pytestmark = pytest.mark.browser
MIP = "Magnitude Invariant Parametrizations Improve Hypernetwork Learning"
HOSTILE = ["foo:", "a~", "^", "title:", "+", "-", '"unmatched', "model:x", "x" * 5000]


@pytest.fixture(scope="module")
def site(shipped_site: Path) -> Path:
    """The shipped digests, built once for the session."""
    return shipped_site


@pytest.fixture(scope="module", params=["file", "http"])
def base(request: pytest.FixtureRequest, site: Path) -> Iterator[str]:
    """The built site's base URL, opened from disk and over HTTP."""
    if request.param == "file":
        yield site.as_uri()
        return
    with serve(site) as url:
        yield url


def results(page: Any) -> list[str]:
    """Wait for the search to settle and return the result titles."""
    page.wait_for_function(
        """() => { const s = document.getElementById('search-status').textContent;
                   return s !== '' && !['Loading', 'Search needs', 'Type to search']
                     .some(prefix => s.startsWith(prefix)); }"""
    )
    return page.locator("#search-results > li .search-result-title").all_text_contents()


def test_typing_finds_the_expected_papers_and_a_result_opens(page: Any, base: str) -> None:
    page.goto(f"{base}/search.html")
    page.fill("#search-q", "hypernetwork")
    titles = results(page)
    assert MIP in titles and len(titles) >= 10
    assert page.locator("#search-results mark").count() > 0
    page.locator("#search-results a", has_text=MIP).first.click()
    page.wait_for_url(f"**/papers/{slugify(MIP)}.html")
    assert page.locator("h1").text_content().strip() == MIP
    page.errors.assert_clean()


def test_topic_and_year_filters_narrow_results(page: Any, base: str) -> None:
    page.goto(f"{base}/search.html?q=network")
    everything = results(page)
    page.select_option("#search-topic", label="Pruning and sparsity")
    pruning = results(page)
    assert 0 < len(pruning) < len(everything)
    assert "topic=" in page.url
    page.select_option("#search-year", "2023")
    narrowed = results(page)
    assert len(narrowed) < len(pruning) or not narrowed
    metas = page.locator("#search-results .search-meta").all_text_contents()
    assert all("2023" in m and "Pruning" in m for m in metas)
    page.errors.assert_clean()


def test_query_url_restores_a_search(page: Any, base: str) -> None:
    page.goto(f"{base}/search.html?q=lottery%20tickets")
    assert results(page)
    assert page.input_value("#search-q") == "lottery tickets"
    page.errors.assert_clean()


@pytest.mark.parametrize("query", HOSTILE, ids=lambda q: q[:12])
def test_hostile_queries_show_a_message_and_never_throw(page: Any, base: str, query: str) -> None:
    page.goto(f"{base}/search.html")
    page.fill("#search-q", query)
    results(page)
    assert page.locator("#search-status").text_content().strip()
    page.errors.assert_clean()


def test_non_ascii_words_are_findable(page: Any, base: str) -> None:
    page.goto(f"{base}/search.html?q=Poincar%C3%A9")
    titles = results(page)
    assert titles, "no result for Poincaré"
    page.errors.assert_clean()


def test_header_search_on_a_topic_page_leads_to_results(page: Any, base: str) -> None:
    page.goto(f"{base}/topics/pruning.html")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "site-search-q"
    page.keyboard.type("pruning")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search.html?q=pruning*")
    assert results(page)
    page.errors.assert_clean()


PAGES = [
    "index.html",
    "topics/operators.html",
    f"papers/{slugify(MIP)}.html",
    "timeline.html",
    "search.html",
]


@pytest.mark.parametrize("width", [1280, 360])
def test_main_pages_render_without_errors_or_overflow(
    chromium_browser: Any,  # noqa: F811
    site: Path,
    width: int,
    tmp_path: Path,
) -> None:
    context = chromium_browser.new_context(viewport={"width": width, "height": 900})
    try:
        for rel in PAGES:
            page = context.new_page()
            errors = error_log(page)
            page.goto((site / rel).as_uri())
            shot = tmp_path / f"{rel.replace('/', '_')}-{width}.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 5_000
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{rel} scrolls sideways by {overflow}px at {width}px"
            errors.assert_clean()
            page.close()
    finally:
        context.close()


def test_dark_theme_and_print_styles_apply(chromium_browser: Any, site: Path) -> None:  # noqa: F811
    context = chromium_browser.new_context(color_scheme="dark")
    try:
        page = context.new_page()
        page.goto((site / "index.html").as_uri())
        dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
        page.emulate_media(media="print")
        nav_display = page.evaluate("getComputedStyle(document.querySelector('.site-nav')).display")
        assert dark == "rgb(20, 22, 24)" and nav_display == "none"
    finally:
        context.close()


def test_keyboard_reaches_the_main_content_first(page: Any, base: str) -> None:
    page.goto(f"{base}/index.html")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"


def test_the_error_log_forgives_only_requests_cut_off_by_leaving_the_page(
    chromium_browser: Any,
) -> None:
    """An aborted request counts as a failure unless the page navigated away meanwhile."""
    import time
    from http.server import BaseHTTPRequestHandler

    from browser import serve_handler

    pages = {
        "/abort.html": "<script>const c = new AbortController();"
        "fetch('/slow', {signal: c.signal}).catch(() => {});"
        "setTimeout(() => c.abort(), 200);</script>",
        "/leave.html": "<script>fetch('/slow').catch(() => {});</script>",
        "/quiet.html": "<p>quiet</p>",
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            if self.path == "/slow":
                time.sleep(3)
            body = pages.get(self.path, "").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Keep test output clean."""

    context = chromium_browser.new_context()
    try:
        with serve_handler(Handler) as url:
            stay = context.new_page()
            stay.errors = error_log(stay)
            stay.goto(f"{url}/abort.html")
            stay.wait_for_timeout(800)
            assert any("/slow" in p for p in stay.errors.problems())
            leave = context.new_page()
            leave.errors = error_log(leave)
            leave.goto(f"{url}/leave.html")
            leave.goto(f"{url}/quiet.html")
            leave.wait_for_timeout(300)
            assert [text for text, _ in leave.errors.aborted if "/slow" in text]  # it was cut
            leave.errors.assert_clean()
    finally:
        context.close()
