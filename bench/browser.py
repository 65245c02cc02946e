"""Search timings in headless Chromium (Playwright) against the built site over local HTTP.

Figures (milliseconds; page clocks start at navigation, `performance.now()`):

* `index_load_ms`: open `search.html?q=WORD`; time until the first result is on screen (the
  frame after it enters `#search-results`). Covers HTML, scripts, the manifest, the first
  index shard, unpacking it and running the query: what a visitor waits for before the index
  can answer anything.
* `index_all_ms`: until the last search file the page fetches by itself has arrived (shards
  that load in the background after the first results).
* `cold_type_ms`: on a fresh `search.html` (manifest loaded, idle status shown), from typing
  a query to its first result on screen, index shard fetched on demand.
* `first_results_ms`: with the index loaded and the network idle, from the keystroke that
  completes a query to its first result on screen; the median over several queries. Includes
  the page's own 150 ms input debounce.
"""

from __future__ import annotations

import contextlib
import functools
import statistics
import threading
from collections.abc import Iterator, Sequence
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
QUERIES = (
    "operator learning",
    "pruning",
    "hypernetwork",
    "local learning",
    "sparse attention",
    "diffusion",
)

# Record when the first search result appears (set before any page script runs).
_WATCH_FIRST_RESULT = """
(() => {
  const observer = new MutationObserver(() => {
    if (window.__benchFirstResult === undefined && document.querySelector('#search-results li')) {
      requestAnimationFrame(() => { window.__benchFirstResult = performance.now(); });
      observer.disconnect();
    }
  });
  observer.observe(document, { childList: true, subtree: true });
})();
"""

# Clear the box, wait until the results are gone, then time typing `query` to its first result.
_TIME_QUERY = """
async (query) => {
  const box = document.getElementById('search-q');
  const list = document.getElementById('search-results');
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  box.value = '';
  box.dispatchEvent(new Event('input', { bubbles: true }));
  for (let i = 0; i < 500 && list.querySelector('li'); i++) await sleep(10);
  await sleep(400);
  return await new Promise((resolve) => {
    let start = 0;
    const observer = new MutationObserver(() => {
      if (!list.querySelector('li')) return;
      observer.disconnect();
      requestAnimationFrame(() => resolve(performance.now() - start));
    });
    observer.observe(list, { childList: true, subtree: true });
    setTimeout(() => { observer.disconnect(); resolve(null); }, 20000);
    start = performance.now();
    box.value = query;
    box.dispatchEvent(new Event('input', { bubbles: true }));
  });
}
"""

_LAST_SEARCH_FILE = """
() => Math.max(0, ...performance.getEntriesByType('resource')
  .filter((e) => e.name.includes('/search/')).map((e) => e.responseEnd))
"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve a folder on 127.0.0.1 (a free port) and yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


_STATUS = "(document.getElementById('search-status') || {}).textContent || ''"
_FAILED = f"/could not|Sorry|No results/.test({_STATUS})"


class SearchPageError(RuntimeError):
    """The search page reported a failure instead of results."""


def _first_result(page, timeout_ms: float) -> float:  # noqa: ANN001 - playwright Page
    page.wait_for_function(
        f"window.__benchFirstResult !== undefined || {_FAILED}", timeout=timeout_ms
    )
    when = page.evaluate("window.__benchFirstResult")
    if when is None:
        raise SearchPageError(f"search page says: {page.evaluate(_STATUS)!r}")
    return float(when)


def measure_search(site: Path, queries: Sequence[str] = QUERIES, timeout_s: float = 60) -> dict:
    """Return the search timings for a built site (see the module docstring)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"error": "playwright is not installed (pip install -e '.[test]')"}
    if not Path(CHROMIUM).exists():
        return {"error": f"{CHROMIUM} not found"}
    timeout_ms = timeout_s * 1000
    figures: dict = {}
    with serve(site) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        figures["chromium"] = browser.version
        try:
            context = browser.new_context()
            context.add_init_script(_WATCH_FIRST_RESULT)
            errors: list[str] = []
            page = context.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base}search.html?q={quote(queries[0])}", timeout=timeout_ms)
            figures["index_load_ms"] = _first_result(page, timeout_ms)
            page.wait_for_load_state("networkidle", timeout=timeout_ms)
            figures["index_all_ms"] = float(page.evaluate(_LAST_SEARCH_FILE))
            timings = [page.evaluate(_TIME_QUERY, q) for q in queries[1:]]
            found = [t for t in timings if t is not None]
            figures["first_results_samples_ms"] = timings
            if found:
                figures["first_results_ms"] = statistics.median(found)
            if len(found) < len(timings):
                figures["warning"] = f"{len(timings) - len(found)} query(ies) showed no results"
            page.close()

            page = context.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base}search.html", timeout=timeout_ms)
            page.wait_for_function(
                f"({_STATUS}).startsWith('Type to search')",
                timeout=timeout_ms,
            )
            figures["manifest_ready_ms"] = float(page.evaluate("performance.now()"))
            cold = page.evaluate(_TIME_QUERY.replace("await sleep(400);", ""), queries[0])
            if cold is not None:
                figures["cold_type_ms"] = cold
            page.close()
            if errors:
                figures["page_errors"] = errors[:5]
        finally:
            browser.close()
    return figures
