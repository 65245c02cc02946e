"""Reusable helpers for browser tests: launch Chromium, serve a folder, collect page errors.

Use from a test module:

    from browser import error_log, serve  # chromium_browser is a conftest fixture

    def test_page(chromium_browser, tmp_path):
        with serve(site_dir) as base:
            page = chromium_browser.new_page()
            errors = error_log(page)
            page.goto(f"{base}/index.html")
            ...
            errors.assert_clean()
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _unavailable(reason: str) -> None:
    """Fail in CI (a missing browser must not pass silently), skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run: {reason}")
    pytest.skip(reason)


def chromium_path() -> str:
    """Return the Chromium executable to drive (env SURVEY_CHROMIUM overrides)."""
    return os.environ.get("SURVEY_CHROMIUM") or shutil.which("chromium") or CHROMIUM


def launch(playwright: Any) -> Any:
    """Launch headless Debian Chromium with the flags that work in this sandbox."""
    return playwright.chromium.launch(
        executable_path=chromium_path(), headless=True, args=LAUNCH_ARGS
    )


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Any]:
    """One headless Chromium for the whole session."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed")
    if not Path(chromium_path()).exists():
        _unavailable(f"no Chromium at {chromium_path()}")
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Keep test output clean."""


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve a folder on 127.0.0.1 (a free port) and yield its base URL."""
    with serve_handler(functools.partial(_QuietHandler, directory=str(directory))) as url:
        yield url


@contextmanager
def serve_handler(handler: Any) -> Iterator[str]:
    """Run an HTTP request handler on 127.0.0.1 (a free port) in a thread; yield its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class ErrorLog:
    """Console errors, uncaught errors, failed requests, 4xx/5xx and dialogs of one page."""

    console: list[str] = field(default_factory=list)
    page: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    responses: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    aborted: list[tuple[str, int]] = field(default_factory=list)  # (request, navigations then)
    navigations: int = 0  # of the main frame

    def problems(self) -> list[str]:
        """Return every problem seen so far, labelled."""
        cut = [text for text, then in self.aborted if then == self.navigations]  # not left
        return (
            [f"console: {m}" for m in self.console]
            + [f"page error: {m}" for m in self.page]
            + [f"request failed: {m}" for m in [*self.requests, *cut]]
            + [f"bad response: {m}" for m in self.responses]
            + [f"dialog: {m}" for m in self.dialogs]
        )

    def assert_clean(self) -> None:
        """Fail if the page logged an error, threw, lost a request or opened a dialog."""
        assert not self.problems(), "\n".join(self.problems())


def error_log(page: Any) -> ErrorLog:
    """Start collecting a page's errors; dialogs are recorded and dismissed."""
    log = ErrorLog()
    page.on("console", lambda m: log.console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: log.page.append(str(e)))
    # A request cut off because the page navigated away (the search index starts loading
    # when the header search is focused, and Enter leaves the page) is not a failure. The
    # abort and the navigation are reported in either order, so aborts are judged last.
    started: dict[Any, int] = {}

    def on_navigated(frame: Any) -> None:
        if frame == page.main_frame:
            log.navigations += 1

    def on_failed(request: Any) -> None:
        text = f"{request.url} {request.failure}"
        if "ERR_ABORTED" in (request.failure or ""):
            log.aborted.append((text, started.pop(request, log.navigations)))
        else:
            log.requests.append(text)

    page.on("framenavigated", on_navigated)
    page.on("request", lambda r: started.__setitem__(r, log.navigations))
    page.on("requestfailed", on_failed)
    page.on(
        "response",
        lambda r: log.responses.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )

    def on_dialog(dialog: Any) -> None:
        log.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return log


@pytest.fixture
def page(chromium_browser: Any) -> Iterator[Any]:
    """A fresh page in its own browser context, collecting errors in `page.errors`."""
    context = chromium_browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.errors = error_log(page)
    yield page
    context.close()
