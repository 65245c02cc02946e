"""`survey export`: one reproducible zip whose site works opened from disk with no network."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import feedparser
import pytest
from browser import error_log
from bs4 import BeautifulSoup
from click.testing import CliRunner, Result

from generator.cli import main
from tests.conftest import make_project

EPOCH = "1767225600"  # 2026-01-01
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
LOADS = {"script": "src", "link": "href", "img": "src", "iframe": "src", "source": "src"}


def run(root: Path, *args: str) -> Result:
    """Run the real CLI in-process with a fixed build date and CI unset."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", EPOCH)
        patch.delenv("CI", raising=False)
        return CliRunner().invoke(main, ["--root", str(root), *args])


@pytest.fixture(scope="module")
def zips(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Export the shipped digests from two separate fresh copies of one project."""
    first = make_project(tmp_path_factory.mktemp("export-a") / "proj")
    second = tmp_path_factory.mktemp("export-b") / "proj"
    shutil.copytree(first, second)  # same inputs, different place, separate caches
    out = []
    for root in (first, second):
        result = run(root, "export")
        assert result.exit_code == 0, result.output
        assert "exported" in result.output
        out.append(root / "dist" / "survey-site.zip")
    return out[0], out[1]


@pytest.fixture(scope="module")
def unzipped(zips: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Unzip the export; return the site folder inside it."""
    dest = tmp_path_factory.mktemp("unzipped")
    with zipfile.ZipFile(zips[0]) as archive:
        archive.extractall(dest)
    return dest / "survey-site"


def test_two_exports_are_byte_identical(zips: tuple[Path, Path]) -> None:
    assert zips[0].read_bytes() == zips[1].read_bytes()


def test_zip_entries_are_sorted_with_fixed_times_and_modes(zips: tuple[Path, Path]) -> None:
    with zipfile.ZipFile(zips[0]) as archive:
        infos = archive.infolist()
        assert archive.testzip() is None
    names = [info.filename for info in infos]
    assert names == sorted(names) and len(names) == len(set(names))
    assert all(name.startswith("survey-site/") for name in names)
    assert {info.date_time for info in infos} == {(2026, 1, 1, 0, 0, 0)}
    modes = {info.external_attr >> 16 for info in infos if not info.is_dir()}
    assert modes == {0o100644}
    assert "survey-site/index.html" in names and "survey-site/search.html" in names


def test_without_source_date_epoch_entries_date_from_1980(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("SOURCE_DATE_EPOCH", raising=False)
        patch.delenv("CI", raising=False)
        args = ["--root", str(root), "export", "--zip", str(root / "out" / "s.zip")]
        result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(root / "out" / "s.zip") as archive:
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert archive.namelist()[0].startswith("s/")


def test_folder_copy_matches_the_zip(zips: tuple[Path, Path], tmp_path: Path) -> None:
    root = zips[0].parent.parent
    result = run(
        root,
        "export",
        "--no-ingest",
        "--zip",
        str(tmp_path / "c.zip"),
        "--folder",
        str(tmp_path / "site"),
    )
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / "c.zip") as archive:
        files = {
            n.removeprefix("c/"): archive.read(n) for n in archive.namelist() if not n.endswith("/")
        }
    on_disk = {
        p.relative_to(tmp_path / "site").as_posix(): p.read_bytes()
        for p in (tmp_path / "site").rglob("*")
        if p.is_file()
    }
    assert files == on_disk


def test_folder_refuses_to_replace_unrelated_files(zips: tuple[Path, Path], tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    result = run(zips[0].parent.parent, "export", "--no-ingest", "--folder", str(tmp_path / "mine"))
    assert result.exit_code == 1
    assert "not an exported site" in result.output and "Traceback" not in result.output
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def _local_target(page: Path, ref: str) -> Path:
    """Return the file a relative reference on a page points at."""
    return (page.parent / unquote(urlsplit(ref).path)).resolve()


def test_nothing_is_loaded_from_the_network_and_every_link_resolves(unzipped: Path) -> None:
    pages = sorted(p for p in unzipped.rglob("*.html") if p.name != "404.html")  # server-only page
    assert len(pages) > 300
    for page in pages:
        soup = BeautifulSoup(page.read_bytes(), "lxml")
        for tag, attr in LOADS.items():
            for element in soup.find_all(tag, attrs={attr: True}):
                ref = element[attr]
                assert not SCHEME.match(ref) and not ref.startswith("/"), f"{page}: {ref}"
                assert _local_target(page, ref).is_file(), f"{page}: {ref}"
        for link in soup.find_all("a", href=True):
            ref = link["href"]
            if SCHEME.match(ref) or ref.startswith("#"):
                continue  # external links are only followed when clicked
            assert not ref.startswith("/"), f"{page}: {ref} needs a server"
            assert _local_target(page, ref).is_file(), f"{page}: {ref}"


# ---------------------------------------------------------------- from disk, in Chromium


@pytest.fixture
def offline(chromium_browser: Any) -> Any:  # noqa: F811  (the shared session fixture)
    """A browser page with the network off; yields (page, errors, network requests)."""
    context = chromium_browser.new_context()
    context.set_offline(True)
    network: list[str] = []

    def block(route: Any) -> None:
        """Let file:// through; abort and record anything else."""
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            network.append(route.request.url)
            route.abort()

    context.route("**/*", block)
    page = context.new_page()
    errors = error_log(page)
    page.on("request", lambda r: None if r.url.startswith("file://") else network.append(r.url))
    yield page, errors, network
    context.close()


@pytest.mark.browser
def test_browsing_from_disk_by_clicking(offline: Any, unzipped: Path) -> None:
    page, errors, network = offline
    page.goto((unzipped / "index.html").as_uri())
    assert page.locator("main svg").count() >= 1  # the home page's charts
    page.locator(".site-nav a", has_text="Topics").click()
    page.wait_for_url("**/topics/index.html")
    feed = page.locator("main a[href$='feeds/pruning.xml']").first.get_attribute("href")
    parsed = feedparser.parse((unzipped / "topics" / feed).resolve().read_bytes())
    assert not parsed.bozo and parsed.entries
    page.locator("main a[href$='topics/pruning.html']").first.click()
    page.wait_for_url("**/topics/pruning.html")
    assert "Pruning" in page.locator("h1").inner_text()
    alternate = page.locator("link[rel=alternate][href$='pruning.xml']").get_attribute("href")
    assert (unzipped / "topics" / alternate).resolve() == (unzipped / "feeds" / "pruning.xml")
    title = page.locator("main a[href^='../papers/']").first.inner_text()
    page.locator("main a[href^='../papers/']").first.click()
    page.wait_for_url("**/papers/*.html")
    assert page.locator("h1").inner_text().strip() == title.strip()
    assert page.url.startswith("file://")
    assert not network, network
    errors.assert_clean()


@pytest.mark.browser
def test_search_from_disk(offline: Any, unzipped: Path) -> None:
    page, errors, network = offline
    page.goto((unzipped / "search.html").as_uri())
    page.locator("#search-q").fill("pruning")
    results = page.locator("#search-results li")
    results.first.wait_for(timeout=15_000)
    assert results.count() >= 5
    assert "pruning" in page.locator("#search-status").inner_text().lower()
    link = results.first.locator("a").first
    title = link.inner_text()
    link.click()
    page.wait_for_url("**/papers/*.html")
    assert page.locator("h1").inner_text().strip() == title.strip()
    assert not network, network
    errors.assert_clean()


@pytest.mark.browser
def test_header_search_box_submits_to_the_search_page_from_disk(
    offline: Any, unzipped: Path
) -> None:
    page, errors, network = offline
    page.goto((unzipped / "about.html").as_uri())
    page.locator("#site-search-q").fill("hypernetwork")
    page.locator("#site-search-q").press("Enter")
    page.wait_for_url("**/search.html?q=hypernetwork*")
    page.locator("#search-results li").first.wait_for(timeout=15_000)
    assert page.locator("#search-q").input_value() == "hypernetwork"
    assert not network, network
    errors.assert_clean()
