"""Golden output: a tiny fixture site must build to exactly the files in tests/golden/expected/.

Regenerate after an intended change to templates, styles or output, then review the diff:

    SURVEY_REGEN_GOLDEN=1 python -m pytest tests/test_golden.py
    git diff --stat tests/golden/expected
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main

HERE = Path(__file__).parent / "golden"
REPO = HERE.parent.parent
# Copied byte for byte from site_src/ and compared by name only: CSS and JS names carry a
# hash of their bytes, so the name pins the content without a second copy in the repo.
VERBATIM = ("vendor/", "css/", "js/", "favicon.svg")


def build_fixture(dest: Path) -> Path:
    """Copy the fixture content plus the project's templates and static files; build."""
    shutil.copytree(HERE / "site", dest)
    shutil.copytree(REPO / "templates", dest / "templates")
    shutil.copytree(REPO / "site_src", dest / "site_src")
    result = CliRunner().invoke(
        main, ["--root", str(dest), "build", "--strict"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return dest / "_site"


def tree(folder: Path) -> dict[str, bytes]:
    """Return every file below a folder, vendored files as empty placeholders."""
    return {
        p.relative_to(folder).as_posix(): b""
        if p.relative_to(folder).as_posix().startswith(VERBATIM)
        else p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_golden_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    monkeypatch.delenv("CI", raising=False)
    site = build_fixture(tmp_path / "golden")
    expected_dir = HERE / "expected"
    if os.environ.get("SURVEY_REGEN_GOLDEN"):
        shutil.rmtree(expected_dir, ignore_errors=True)
        for rel, data in tree(site).items():
            (expected_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / rel).write_bytes(data)
    actual, expected = tree(site), tree(expected_dir)
    assert sorted(actual) == sorted(expected), "files added or missing: regenerate if intended"
    changed = [rel for rel in expected if actual[rel] != expected[rel]]
    assert changed == [], (
        f"output differs from tests/golden/expected in {changed}; see the module docstring"
    )


def test_golden_entries_are_as_ingested(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    root = tmp_path / "golden"
    build_fixture(root)
    names = sorted(p.name for p in (root / "content" / "papers").glob("*.yaml"))
    assert names == [
        "a-study-of-cafe-recommendations-with-sl-2-a.yaml",
        "fourier-operators-for-heat-flow.yaml",
        "operator-learning-on-graphs.yaml",
        "pruning-tiny-networks-by-magnitude.yaml",
    ]
