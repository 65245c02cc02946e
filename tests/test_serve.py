"""`survey serve`: a real subprocess serving a throw-away project, rebuilding on edits."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from browser import error_log

from tests.conftest import make_project

START_TIMEOUT = 90.0
CHANGE_TIMEOUT = 60.0


@dataclass
class Server:
    """A running `survey serve` process, its URL and everything it printed."""

    process: subprocess.Popen
    root: Path
    url: str = ""
    lines: list[str] = field(default_factory=list)
    stdout: queue.Queue = field(default_factory=queue.Queue)

    def output(self) -> str:
        """Return everything printed so far (stdout and stderr)."""
        return "\n".join(self.lines)

    def stop(self, signum: int = signal.SIGINT) -> int:
        """Stop the server like Ctrl-C does; return its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            raise


def _pump(stream: Any, server: Server, sink: queue.Queue | None) -> None:
    """Copy a child stream into the server's lines (and a queue) until it closes."""
    for line in iter(stream.readline, ""):
        server.lines.append(line.rstrip("\n"))
        if sink is not None:
            sink.put(line)


def _interruptible() -> None:
    """Let the server take Ctrl-C even when the tests run as a background job.

    A shell starts background jobs with SIGINT ignored, children inherit that, and Python
    then installs no KeyboardInterrupt handler: `stop()` would wait in vain.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(root: Path, *args: str) -> Server:
    """Start `survey serve --port 0` on a project and wait for its URL."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1767225600", "PYTHONUNBUFFERED": "1"}
    env.pop("CI", None)
    command = [sys.executable, "-m", "generator.cli", "--root", str(root), "serve", *args]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=_interruptible,  # noqa: PLW1509 - no threads touch state before exec
    )
    server = Server(process, root)
    threading.Thread(
        target=_pump, args=(process.stdout, server, server.stdout), daemon=True
    ).start()
    threading.Thread(target=_pump, args=(process.stderr, server, None), daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            line = server.stdout.get(timeout=0.5)
        except queue.Empty:
            continue
        match = re.search(r"serving (http://127\.0\.0\.1:\d+)/", line)
        if match:
            server.url = match.group(1)
            return server
    server.stop()
    raise AssertionError(f"serve did not start:\n{server.output()}")


def get(url: str) -> tuple[int, dict[str, str], str]:
    """GET a URL; return status, headers (lowercased names) and text."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - local server
            headers = {k.lower(): v for k, v in response.headers.items()}
            return response.status, headers, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read().decode()


def wait_until(check: Callable[[], bool], what: str, server: Server) -> None:
    """Poll a condition for at most CHANGE_TIMEOUT seconds."""
    deadline = time.monotonic() + CHANGE_TIMEOUT
    while time.monotonic() < deadline:
        if check():
            return
        assert server.process.poll() is None, f"serve exited:\n{server.output()}"
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}:\n{server.output()}")


def state(server: Server) -> dict[str, Any]:
    """Return the build number and error the server reports."""
    return json.loads(get(f"{server.url}/__survey_build")[2])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One preview server on a project holding the shipped digests and entries."""
    root = make_project(tmp_path_factory.mktemp("serve") / "proj", papers=True)
    running = start(root, "--port", "0")
    yield running
    running.stop()


def page_text(server: Server, path: str) -> str:
    """GET a page without the injected reload tag."""
    # The tag's build number can lag the files by one: a build swaps its output in just
    # before the server counts it.
    return re.sub(
        r'<script src="/__survey_reload\.js\?build=\d+"></script>',
        "",
        get(f"{server.url}{path}")[2],
    )


def edit(path: Path, old: str, new: str) -> None:
    """Replace text in a file (it must be there)."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# ---------------------------------------------------------------- over HTTP


def test_serves_pages_with_the_reload_script_injected(server: Server) -> None:
    status, headers, body = get(f"{server.url}/")
    assert status == 200
    assert re.search(r'<script src="/__survey_reload\.js\?build=\d+"></script>\s*</body>', body)
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"
    on_disk = (server.root / "_site" / "index.html").read_text(encoding="utf-8")
    assert "__survey_reload" not in on_disk  # injected while serving only
    status, headers, script = get(f"{server.url}/__survey_reload.js")
    assert status == 200 and "javascript" in headers["content-type"]
    assert "/__survey_build" in script
    css = next((server.root / "_site" / "css").glob("site.*.css")).name
    status, headers, text = get(f"{server.url}/css/{css}")
    assert status == 200 and "text/css" in headers["content-type"] and "__survey" not in text


def test_unknown_paths_get_the_404_page(server: Server) -> None:
    status, _headers, body = get(f"{server.url}/papers/no-such-paper.html")
    assert status == 404
    assert "__survey_reload" in body
    assert "Page not found" in body or "404" in body


def test_an_edit_to_content_is_rebuilt_and_served(server: Server) -> None:
    before = state(server)["build"]
    intro = server.root / "content" / "topics" / "pruning.md"
    marker = f"Edited while serving {time.time_ns()}."
    intro.write_text(intro.read_text(encoding="utf-8") + f"\n{marker}\n", encoding="utf-8")
    url = f"{server.url}/topics/pruning.html"
    wait_until(lambda: marker in get(url)[2], "the edited topic intro", server)
    wait_until(lambda: state(server)["build"] == before + 1, "the build count", server)
    assert state(server)["error"] == ""


def test_a_template_edit_is_rebuilt_too(server: Server) -> None:
    before = state(server)["build"]
    template = server.root / "templates" / "about.html"
    edit(template, "<h1>About this survey</h1>", "<h1>About this survey (edited)</h1>")
    url = f"{server.url}/about.html"
    wait_until(lambda: "About this survey (edited)" in get(url)[2], "the edited template", server)
    wait_until(lambda: state(server)["build"] == before + 1, "the build count", server)


def test_a_broken_entry_prints_the_error_and_keeps_the_last_good_build(server: Server) -> None:
    good = page_text(server, "/about.html")
    before = state(server)["build"]
    entry = sorted((server.root / "content" / "papers").glob("*.yaml"))[0]
    text = entry.read_text(encoding="utf-8")
    mark = len(server.lines)
    entry.write_text(text + "curated: [unclosed\n", encoding="utf-8")
    try:
        wait_until(lambda: state(server)["error"], "the build error", server)
        printed = "\n".join(server.lines[mark:])
        assert entry.name in printed and "error:" in printed
        assert "Traceback" not in printed
        assert "kept the last good build online" in printed
        assert get(f"{server.url}/about.html")[0] == 200
        assert page_text(server, "/about.html") == good
        assert state(server)["build"] == before
    finally:
        entry.write_text(text, encoding="utf-8")
    wait_until(lambda: not state(server)["error"], "recovery after the fix", server)


def test_a_busy_port_is_a_clear_error(server: Server) -> None:
    port = server.url.rsplit(":", 1)[1]
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    command = [sys.executable, "-m", "generator.cli", "--root", str(server.root), "serve"]
    result = subprocess.run(
        [*command, "--port", port], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------- in the browser


def console_errors(page: Any) -> list[str]:
    """Collect console errors, except a missing /favicon.ico (test_netlify.py checks that)."""
    found: list[str] = []

    def on_console(message: Any) -> None:
        """Record an error unless it is about the favicon."""
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            found.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", on_console)
    return found


@pytest.mark.browser
def test_open_pages_reload_after_a_rebuild_and_show_errors(
    chromium_browser: Any,  # noqa: F811  (the shared session fixture)
    server: Server,
) -> None:
    page = chromium_browser.new_page()
    errors = error_log(page)
    console = console_errors(page)
    page.goto(f"{server.url}/topics/hypernetworks.html")
    intro = server.root / "content" / "topics" / "hypernetworks.md"
    marker = f"Reloaded by the browser {time.time_ns()}."
    intro.write_text(intro.read_text(encoding="utf-8") + f"\n{marker}\n", encoding="utf-8")
    page.get_by_text(marker).wait_for(timeout=CHANGE_TIMEOUT * 1000)
    topics = server.root / "content" / "topics.yaml"
    text = topics.read_text(encoding="utf-8")
    topics.write_text(text + "\n  - [broken\n", encoding="utf-8")
    try:
        banner = page.locator("#survey-serve-error")
        banner.wait_for(timeout=CHANGE_TIMEOUT * 1000)
        assert "topics.yaml" in banner.inner_text()
    finally:
        topics.write_text(text, encoding="utf-8")
    page.locator("#survey-serve-error").wait_for(state="detached", timeout=CHANGE_TIMEOUT * 1000)
    assert marker in page.content()
    assert not console, console
    errors.console.clear()  # checked above, without the favicon (see test_netlify.py)
    errors.assert_clean()
    page.close()


# ---------------------------------------------------------------- stopping


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_stops_cleanly(tmp_path: Path, signum: int) -> None:
    root = make_project(tmp_path / "proj", papers=True)
    running = start(root, "--port", "0", "--no-ingest")
    assert get(f"{running.url}/")[0] == 200
    assert running.stop(signum) == 0
    assert "stopped" in running.output()
    assert "Traceback" not in running.output()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{running.url}/", timeout=2)  # noqa: S310 - local server
