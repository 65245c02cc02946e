"""Ingest on every core writes and reports exactly what ingest on one core does."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bench.corpus import Corpus, generate
from generator import parallel
from generator.cli import main
from tests.conftest import EPOCH, make_project

PAPERS = 700  # enough entries to finish them in parallel


def _ingest(root: Path, serial: bool, monkeypatch: pytest.MonkeyPatch) -> Result:
    with monkeypatch.context() as patch:
        if serial:
            patch.setattr(parallel, "_enabled", False)
        return CliRunner().invoke(main, ["--root", str(root), "ingest"])


def _both(roots: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> tuple[Result, Result]:
    """Ingest the first project on one core and the second on every core."""
    return _ingest(roots[0], True, monkeypatch), _ingest(roots[1], False, monkeypatch)


def _same_output(results: tuple[Result, Result], roots: tuple[Path, Path]) -> None:
    serial, on_all = (
        r.output.replace(str(root), "ROOT") for r, root in zip(results, roots, strict=True)
    )
    assert on_all == serial


def _files(root: Path) -> dict[str, bytes]:
    content = root / "content"
    return {
        p.relative_to(content).as_posix(): p.read_bytes()
        for p in sorted(content.rglob("*"))
        if p.is_file() and p.name != ".survey.lock"
    }


def _break(path: Path) -> None:
    """Make an entry whose `ingest:` block cannot be replaced: an `ingest:` line sits inside a
    flow mapping above the real block, and a changed line number makes ingest rewrite it."""
    text = re.sub(r"(\n    line: )\d+", r"\g<1>99999", path.read_text("utf-8"), count=1)
    path.write_text("other: {a: 1,\ningest:\n  2}\n" + text, "utf-8")


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return generate(PAPERS, seed=8, extra=60)


@pytest.fixture
def twins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, corpus: Corpus) -> tuple[Path, Path]:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.delenv("CI", raising=False)
    one = make_project(tmp_path / "one", digests=False)
    corpus.write(one / "content" / "digests")
    return one, Path(shutil.copytree(one, tmp_path / "many"))


@pytest.mark.slow
def test_same_files_and_report(
    twins: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, corpus: Corpus
) -> None:
    for _ in range(2):  # from scratch, then with an extra digest and cached scores
        serial, on_all = _both(twins, monkeypatch)
        assert serial.exit_code == on_all.exit_code == 0, serial.output
        _same_output((serial, on_all), twins)
        assert _files(twins[1]) == _files(twins[0])
        for root in twins:
            corpus.write_extra(root / "content" / "digests")


@pytest.mark.slow
def test_the_first_bad_digest_is_reported(
    twins: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    for root in twins:
        digests = root / "content" / "digests"
        (digests / "aa_bad.txt").write_text("Subscribe\n\nA title without abstract\n", "utf-8")
        (digests / "zz_bad.txt").write_bytes(b"\x00binary")
    serial, on_all = _both(twins, monkeypatch)
    assert serial.exit_code == on_all.exit_code == 1
    assert "aa_bad.txt:3: title has no abstract" in serial.output
    _same_output((serial, on_all), twins)
    assert not (twins[1] / "content" / "papers").exists()


@pytest.mark.slow
def test_the_first_entry_that_cannot_be_updated_is_reported(
    twins: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    for root in twins:
        assert _ingest(root, True, monkeypatch).exit_code == 0
        papers = sorted((root / "content" / "papers").glob("*.yaml"))
        _break(papers[3])
        _break(papers[-3])
    before = _files(twins[1])
    serial, on_all = _both(twins, monkeypatch)
    assert serial.exit_code == on_all.exit_code == 1, serial.output
    assert sorted((twins[0] / "content" / "papers").glob("*.yaml"))[3].name in serial.output
    _same_output((serial, on_all), twins)
    assert _files(twins[1]) == before
