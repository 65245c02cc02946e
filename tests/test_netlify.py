"""netlify.toml: build settings, security and cache headers, the 404 page, and the real site
served under those headers (tests/netlify_server.py) in headless Chromium."""

from __future__ import annotations

import hashlib
import re
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from bs4 import BeautifulSoup
from netlify_server import load_rules, netlify_server, path_regexp

from generator.search import read_script
from generator.serve import CSP as SERVE_CSP
from tests.conftest import REPO

TOML = REPO / "netlify.toml"
CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
}
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, max-age=0, must-revalidate"
STABLE_NAMES = {"/search/manifest.js"}  # lists the current shard names; always revalidated
HASHED = re.compile(r"\.([0-9a-f]{10})\.(?:css|js)$")
CSP_MARKERS = ("Content Security Policy", "Refused to")


def config() -> dict[str, Any]:
    """Parse netlify.toml."""
    return tomllib.loads(TOML.read_text(encoding="utf-8"))


def csp_directives(policy: str) -> dict[str, str]:
    """Split a Content-Security-Policy into directive -> sources."""
    pairs = (part.strip().split(None, 1) for part in policy.split(";") if part.strip())
    return {pair[0]: pair[1] if len(pair) > 1 else "" for pair in pairs}


def fingerprint_ok(path: Path) -> bool:
    """Tell whether a file name carries the sha256 prefix of its bytes."""
    match = HASHED.search(path.name)
    return bool(match) and match.group(1) == hashlib.sha256(path.read_bytes()).hexdigest()[:10]


@pytest.fixture(scope="module")
def site(shipped_site: Path) -> Path:
    """The shipped digests, built strictly once for the session."""
    return shipped_site


@pytest.fixture(scope="module")
def base(site: Path) -> Iterator[str]:
    """Serve the built site like Netlify would."""
    with netlify_server(site, TOML) as url:
        yield url


@pytest.fixture
def chrome(chromium_browser: Any) -> Any:  # noqa: F811  (the shared session fixture)
    """The shared headless Chromium."""
    return chromium_browser


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    """GET a URL; return status, lowercased headers and body (errors included)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - local server
            return response.status, lower_keys(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, lower_keys(error.headers.items()), error.read()


def lower_keys(items: Any) -> dict[str, str]:
    """Return header pairs as a dict with lowercased names."""
    return {key.lower(): value for key, value in items}


# ---------------------------------------------------------------- the file itself


def test_build_installs_then_builds_strictly_into_the_published_folder() -> None:
    build = config()["build"]
    steps = [step.strip() for step in build["command"].split("&&")]
    assert steps == ["pip install .", "survey build --strict"]
    assert build["publish"] == "_site"
    assert build["environment"]["PYTHON_VERSION"] == "3.11"


def test_every_path_gets_the_strict_security_headers() -> None:
    rules = load_rules(TOML)
    for path in ("/", "/index.html", "/papers/x.html", "/css/site.0123456789.css", "/nope"):
        headers = rules.headers_for(path)
        assert csp_directives(headers["content-security-policy"]) == CSP, path
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] in {"no-referrer", "strict-origin-when-cross-origin"}


def test_preview_server_sends_the_same_policy_as_production() -> None:
    assert csp_directives(SERVE_CSP) == CSP


def test_unknown_paths_get_the_404_page() -> None:
    (rule,) = [r for r in config().get("redirects", []) if r.get("status") == 404]
    assert (rule["from"], rule["to"], rule.get("force", False)) == ("/*", "/404.html", False)


def test_path_patterns_follow_netlify_syntax() -> None:
    assert path_regexp("/css/*").match("/css/site.0123456789.css")
    assert path_regexp("/css/*").match("/css")
    assert not path_regexp("/css/*").match("/cssx/a.css")
    assert path_regexp("/*.html").match("/papers/a.html")
    assert not path_regexp("/*.html").match("/feeds/all.xml")
    assert path_regexp("/vendor/*.js").match("/vendor/lunr/lunr.0123456789.js")
    assert not path_regexp("/vendor/*.js").match("/vendor/lunr/LICENSE")
    assert path_regexp("/").match("/") and not path_regexp("/").match("/index.html")


# ---------------------------------------------------------------- against a real build


def test_only_fingerprinted_files_are_cached_for_a_year(site: Path) -> None:
    rules = load_rules(TOML)
    immutable = []
    for file in sorted(p for p in site.rglob("*") if p.is_file()):
        url = "/" + file.relative_to(site).as_posix()
        setters = [raw for raw, values in rules.matching(url) if "Cache-Control" in values]
        assert len(setters) <= 1, f"{url}: Cache-Control set by {setters}"
        cache = rules.headers_for(url).get("cache-control", "")
        if "immutable" in cache:
            assert cache == IMMUTABLE
            assert fingerprint_ok(file), f"{url} is cached for a year but not fingerprinted"
            immutable.append(url)
        if fingerprint_ok(file):
            assert cache == IMMUTABLE, f"{url}: fingerprinted asset without long caching"
        elif file.suffix in {".css", ".js"}:
            assert url in STABLE_NAMES, f"{url}: neither fingerprinted nor a known stable name"
            assert cache == REVALIDATE, url
        if file.suffix in {".html", ".xml"}:
            assert re.fullmatch(r"public, max-age=\d+(, must-revalidate)?", cache), url
            assert int(re.search(r"max-age=(\d+)", cache).group(1)) <= 3600, url
    assert {u.split("/")[1] for u in immutable} == {"css", "js", "search", "vendor"}
    assert any(u.startswith("/search/index-") for u in immutable)


def test_every_css_and_js_reference_is_fingerprinted(site: Path) -> None:
    rules = load_rules(TOML)
    seen = set()
    for page in sorted(site.rglob("*.html")):
        soup = BeautifulSoup(page.read_bytes(), "lxml")
        refs = [s["src"] for s in soup.find_all("script", src=True)]
        refs += [link["href"] for link in soup.find_all("link", rel="stylesheet")]
        assert not soup.find_all("script", src=False), f"{page}: inline script"
        for ref in refs:
            assert not re.match(r"[a-z]+:|//", ref), f"{page}: loads {ref} from elsewhere"
            target = (
                site / ref.lstrip("/") if ref.startswith("/") else page.parent / ref
            ).resolve()
            url = "/" + target.relative_to(site.resolve()).as_posix()
            if url in STABLE_NAMES:
                assert rules.headers_for(url)["cache-control"] == REVALIDATE
                assert target.is_file(), f"{page}: {ref}"
            else:
                assert fingerprint_ok(target), f"{page}: {ref} is not fingerprinted"
            seen.add(url)
    assert len(seen - STABLE_NAMES) >= 4


def test_every_search_shard_the_manifest_names_exists(site: Path) -> None:
    (manifest,) = site.glob("search/manifest*.js")
    shards = read_script(manifest.read_bytes())["shards"]
    assert shards
    for shard in shards:
        assert (site / "search" / shard["file"]).is_file(), shard["file"]


def test_server_sends_headers_and_404s(base: str, site: Path) -> None:
    status, headers, body = fetch(f"{base}/")
    assert status == 200 and body == (site / "index.html").read_bytes()
    assert headers["cache-control"] == "public, max-age=0, must-revalidate"
    assert csp_directives(headers["content-security-policy"]) == CSP
    css = next(site.glob("css/site.*.css")).relative_to(site).as_posix()
    assert fetch(f"{base}/{css}")[1]["cache-control"] == IMMUTABLE
    status, headers, body = fetch(f"{base}/papers/no-such-paper.html")
    assert status == 404 and body == (site / "404.html").read_bytes()
    assert "x-content-type-options" in headers


# ---------------------------------------------------------------- in the browser


@dataclass
class Visit:
    """One page plus everything its console said and everything that went wrong."""

    page: Any
    messages: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def failed(self, url: str, failure: str | None) -> None:
        """Record a failed request; one cut short by leaving the page (favicon) is not."""
        if failure != "net::ERR_ABORTED":
            self.problems.append(f"failed: {url} {failure}")

    def assert_clean(self) -> None:
        """Fail on a blocked load (CSP), a console error, a page error or a failed request."""
        blocked = [m for m in self.messages if any(marker in m for marker in CSP_MARKERS)]
        assert not blocked, "\n".join(blocked)
        assert not self.problems, "\n".join(self.problems)


def visit(browser: Any, url: str) -> Visit:
    """Open a page, collecting console messages and errors."""
    # A missing /favicon.ico is left to test_browsers_find_a_favicon: Chromium asks for it
    # once per host, so counting it here would make only the first page of a run fail.
    seen = Visit(browser.new_page())

    def on_console(message: Any) -> None:
        """Keep every message; count errors other than a missing favicon."""
        seen.messages.append(f"{message.type}: {message.text}")
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            seen.problems.append(f"console: {message.text} ({message.location.get('url')})")

    seen.page.on("console", on_console)
    seen.page.on("pageerror", lambda error: seen.problems.append(f"page error: {error}"))
    seen.page.on("requestfailed", lambda r: seen.failed(r.url, r.failure))
    response = seen.page.goto(url)
    assert response is not None and response.status == 200, url
    return seen


def test_browsers_find_a_favicon(site: Path, base: str) -> None:
    soup = BeautifulSoup((site / "index.html").read_bytes(), "lxml")
    icon = soup.find("link", rel="icon")
    if icon is None:
        assert fetch(f"{base}/favicon.ico")[0] == 200, "no <link rel=icon> and no /favicon.ico"
    elif not icon["href"].startswith("data:"):
        assert (site / icon["href"]).is_file()


@pytest.mark.browser
@pytest.mark.parametrize("path", ["index.html", "topics/pruning.html", "topics/index.html"])
def test_pages_work_under_the_policy(chrome: Any, base: str, path: str) -> None:
    seen = visit(chrome, f"{base}/{path}")
    page = seen.page
    assert page.locator("h1").count() >= 1
    assert page.evaluate("document.styleSheets.length") >= 1
    assert page.evaluate("typeof window.SurveySearch") == "object"
    seen.assert_clean()
    page.close()


@pytest.mark.browser
def test_a_paper_page_works_under_the_policy(chrome: Any, base: str) -> None:
    seen = visit(chrome, f"{base}/topics/hypernetworks.html")
    page = seen.page
    href = page.locator("main a[href*='papers/']").first.get_attribute("href")
    paper_url = urljoin(page.url, href)
    response = page.goto(paper_url)
    assert response is not None and response.status == 200
    assert page.locator("h1").inner_text().strip()
    seen.assert_clean()
    page.close()


@pytest.mark.browser
def test_search_finds_hypernetworks_under_the_policy(chrome: Any, base: str) -> None:
    seen = visit(chrome, f"{base}/search.html?q=hypernetwork")
    page = seen.page
    results = page.locator("#search-results li")
    results.first.wait_for(timeout=15_000)
    assert results.count() >= 5
    assert "hypernetwork" in page.locator("#search-results").inner_text().lower()
    seen.assert_clean()
    page.close()


@pytest.mark.browser
def test_the_policy_blocks_inline_scripts(chrome: Any, site: Path, base: str) -> None:
    probe = site / "csp-probe.html"
    probe.write_text("<!doctype html><title>p</title><script>document.title='ran'</script>")
    try:
        seen = visit(chrome, f"{base}/csp-probe.html")
        assert seen.page.title() == "p"
        with pytest.raises(AssertionError, match="Content Security Policy"):
            seen.assert_clean()
        seen.page.close()
    finally:
        probe.unlink()
