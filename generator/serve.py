"""Live preview: build, serve the output on localhost, rebuild on edits and reload the browser.

The server injects `<script src="/__survey_reload.js?build=N">` into HTML responses (never
into the built files), so pages keep working under the strict Content-Security-Policy: the
script polls `/__survey_build` and reloads the page when a newer build has been swapped in.
A failed rebuild prints its error, keeps the last good build online and shows a banner.
"""

from __future__ import annotations

import http.server
import json
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import watchfiles

from . import parallel
from .build import BuildReport, build
from .config import Config
from .errors import SurveyError
from .ingest import ingest

Progress = Callable[[str], None]
RELOAD_JS = "/__survey_reload.js"
BUILD_STATE = "/__survey_build"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
WATCHED = ("content", "templates", "site_src")
MISSING_WAIT = 2.0

RELOAD_SCRIPT = """\
/* Injected by `survey serve` only: reload when a newer build is online. */
(function () {
  'use strict';
  var script = document.currentScript;
  var built = new URL(script.src).searchParams.get('build');
  var banner = null;
  function show(message) {
    if (!message) { if (banner) { banner.remove(); banner = null; } return; }
    if (!banner) {
      banner = document.createElement('pre');
      banner.id = 'survey-serve-error';
      banner.style.cssText = 'position:fixed;left:0;right:0;bottom:0;margin:0;padding:1em;' +
        'max-height:40vh;overflow:auto;background:#300;color:#fff;z-index:9999;white-space:pre-wrap';
      document.body.appendChild(banner);
    }
    banner.textContent = 'Rebuild failed; showing the last good build.\\n\\n' + message;
  }
  function poll() {
    fetch('%(state)s', { cache: 'no-store' }).then(function (response) {
      return response.json();
    }).then(function (state) {
      if (String(state.build) !== built) { window.location.reload(); return; }
      show(state.error);
      window.setTimeout(poll, 500);
    }, function () { window.setTimeout(poll, 2000); });
  }
  poll();
}());
""".replace("%(state)s", BUILD_STATE)


@dataclass
class ServeState:
    """The build the server shows: its number, the last error, files ingest just wrote."""

    output: Path
    build: int = 0
    error: str = ""
    own_writes: dict[Path, tuple[int, int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self) -> tuple[int, str]:
        """Return the current build number and error under the lock."""
        with self.lock:
            return self.build, self.error

    def succeeded(self) -> None:
        """Record that a new build is online."""
        with self.lock:
            self.build += 1
            self.error = ""

    def recovered(self) -> None:
        """Record that the build online is current again (no new build needed)."""
        with self.lock:
            self.error = ""

    def failed(self, message: str) -> None:
        """Record a failed rebuild; the previous build stays online."""
        with self.lock:
            self.error = message


def inject_reload(html: bytes, build_number: int) -> bytes:
    """Add the reload script tag before `</body>` (or at the end)."""
    tag = f'<script src="{RELOAD_JS}?build={build_number}"></script>\n'.encode()
    at = html.lower().rfind(b"</body>")
    return html + tag if at < 0 else html[:at] + tag + html[at:]


def _wait_for(folder: Path, seconds: float = MISSING_WAIT) -> bool:
    """Wait (bounded) for the output folder to exist again after a swap."""
    deadline = time.monotonic() + seconds
    while not folder.is_dir():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def make_handler(state: ServeState) -> type[http.server.SimpleHTTPRequestHandler]:
    """Return a request handler class bound to one serve state."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        """Serve the output folder with reload injection, no caching and Netlify-like 404s."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            """Serve files from the output folder."""
            super().__init__(*args, directory=str(state.output), **kwargs)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Stay quiet: the terminal is for build messages."""

        def end_headers(self) -> None:
            """Add the site's security headers and forbid caching."""
            self.send_header("Content-Security-Policy", CSP)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Cache-Control", "no-store")
            super().end_headers()

        def do_GET(self) -> None:  # noqa: N802
            """Answer the reload endpoints, HTML pages and other files."""
            self._respond(head=False)

        def do_HEAD(self) -> None:  # noqa: N802
            """Answer like GET without a body."""
            self._respond(head=True)

        def _respond(self, head: bool) -> None:
            """Answer one request: reload endpoints, pages with the reload tag, files, 404."""
            path = unquote(urlsplit(self.path).path)
            if path == RELOAD_JS:
                return self._send(200, "text/javascript", RELOAD_SCRIPT.encode(), head)
            if path == BUILD_STATE:
                number, error = state.snapshot()
                body = json.dumps({"build": number, "error": error}).encode()
                return self._send(200, "application/json", body, head)
            found = self._read(self.path)
            if found is None:
                return self._not_found(head)
            file, body = found
            if file.suffix == ".html":
                return self._send(200, "text/html; charset=utf-8", self._page(body), head)
            return self._send(200, self.guess_type(str(file)), body, head)

        def _read(self, path: str) -> tuple[Path, bytes] | None:
            """Read a file of the build; wait out the instant a new build is swapped in."""
            for _attempt in range(2):
                local = Path(self.translate_path(path))
                file = local / "index.html" if local.is_dir() else local
                try:
                    return file, file.read_bytes()
                except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                    if state.output.is_dir() or not _wait_for(state.output):
                        return None
            return None

        def _page(self, html: bytes) -> bytes:
            """Add the reload tag for the build online now."""
            return inject_reload(html, state.snapshot()[0])

        def _not_found(self, head: bool) -> None:
            """Send the site's 404 page (or say that no build exists yet)."""
            if not state.output.is_dir():
                body = b"No successful build yet: see the terminal.\n"
                return self._send(503, "text/plain; charset=utf-8", body, head)
            found = self._read("/404.html")
            body = self._page(found[1]) if found else b"not found\n"
            self._send(404, "text/html; charset=utf-8", body, head)

        def _send(self, status: int, kind: str, body: bytes, head: bool) -> None:
            """Send a complete response."""
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

    return Handler


def build_once(config: Config, state: ServeState, strict: bool, run_ingest: bool) -> BuildReport:
    """Ingest (remembering the files it wrote), then build without ingesting again."""
    if run_ingest:
        written = ingest(config).written
        state.own_writes = {p.resolve(): _signature(p) for p in written}
    return build(config, strict=strict, run_ingest=False)


def rebuild(
    config: Config, state: ServeState, strict: bool, run_ingest: bool, say: Progress
) -> bool:
    """Build once; print errors instead of raising; return whether a build is online."""
    started = time.monotonic()
    try:
        report = build_once(config, state, strict, run_ingest)
    except SurveyError as exc:
        say(f"error: {exc.format_message()}")
        say("kept the last good build online" if state.build else "waiting for a fix")
        state.failed(exc.format_message())
        return False
    except Exception:  # a bug, not a user error: show it, keep serving
        say(traceback.format_exc().rstrip())
        state.failed("internal error: see the terminal")
        return False
    for warning in report.warnings:
        say(f"warning: {warning}")
    if report.unchanged and state.build:
        state.recovered()
        say("nothing changed since the last build")
    else:
        state.succeeded()
        say(f"built {report.pages} pages in {time.monotonic() - started:.1f}s")
    return True


def _signature(path: Path) -> tuple[int, int]:
    """Return a file's mtime and size, or (-1, -1) when it is gone."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return (-1, -1)
    return (stat.st_mtime_ns, stat.st_size)


def _watch_filter(_change: watchfiles.Change, path: str) -> bool:
    """Ignore hidden files (locks, atomic-write temporaries) and editor backups."""
    name = Path(path).name
    return not (name.startswith((".", "#")) or name.endswith(("~", ".swp", ".tmp")))


def relevant(changes: Iterable[tuple[watchfiles.Change, str]], state: ServeState) -> list[Path]:
    """Return changed paths, minus the entries the last ingest wrote itself."""
    out = []
    for _change, raw in changes:
        path = Path(raw).resolve()
        if state.own_writes.get(path) == _signature(path):
            continue
        out.append(path)
    return sorted(set(out))


def bind(state: ServeState, host: str, port: int) -> http.server.ThreadingHTTPServer:
    """Create the HTTP server (listening, not yet answering); a busy port is a user error."""
    try:
        server = http.server.ThreadingHTTPServer((host, port), make_handler(state))
    except OSError as exc:
        raise SurveyError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    server.daemon_threads = True
    return server


def _stop_on_sigterm(stop: threading.Event) -> None:
    """Make SIGTERM stop the watch loop like Ctrl-C (main thread only)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())


def serve(
    config: Config,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    strict: bool = False,
    run_ingest: bool = True,
    say: Progress = print,
    announce: Progress = print,
) -> None:
    """Build, serve on host:port and rebuild on every change until interrupted."""
    parallel.disable()  # never fork from a process running server and watcher threads
    state = ServeState(output=config.output_dir)
    server = bind(state, host, port)
    rebuild(config, state, strict, run_ingest, say)
    threading.Thread(target=server.serve_forever, name="survey-serve", daemon=True).start()
    announce(f"serving http://{host}:{server.server_address[1]}/ (Ctrl-C to stop)")
    stop = threading.Event()
    _stop_on_sigterm(stop)
    folders = [config.root / name for name in WATCHED if (config.root / name).is_dir()]
    try:
        for changes in watchfiles.watch(
            *folders, watch_filter=_watch_filter, debounce=300, stop_event=stop
        ):
            paths = relevant(changes, state)
            if paths:
                say(f"changed: {', '.join(_short(p, config.root) for p in paths[:3])}")
                rebuild(config, state, strict, run_ingest, say)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
        say("stopped")


def _short(path: Path, root: Path) -> str:
    """Return a path relative to the project for messages."""
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
