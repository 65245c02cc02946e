"""The `survey` command as its own process: exit codes and output survive the fast exit."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from generator import __version__
from tests.conftest import EPOCH, REPO, make_project


def survey(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the command the way the console script does (output piped, so block-buffered)."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    env.pop("CI", None)
    return subprocess.run(
        [sys.executable, "-m", "generator.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_console_script_runs_the_fast_exit_entry_point() -> None:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["survey"] == "generator.cli:run"


def test_a_build_prints_its_report_and_exits_0(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj")
    done = survey("--root", str(root), "ingest", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "entries in the survey" in done.stdout + done.stderr
    built = survey("--root", str(root), "build", "--no-ingest", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    pages = len(list((root / "_site").rglob("*.html")))
    assert f"built {pages} pages" in built.stdout + built.stderr
    assert (root / "_site" / "index.html").is_file()
    again = survey("--root", str(root), "build", "--no-ingest", cwd=tmp_path)
    assert again.returncode == 0
    assert "nothing changed since the last build" in again.stdout + again.stderr


def test_version_goes_to_stdout(tmp_path: Path) -> None:
    done = survey("--version", cwd=tmp_path)
    assert (done.returncode, done.stdout.strip()) == (0, f"survey, version {__version__}")


def test_bad_input_exits_1_with_the_error(tmp_path: Path) -> None:
    done = survey("--root", str(tmp_path / "missing"), "build", cwd=tmp_path)
    assert done.returncode == 1
    assert "Error:" in done.stderr and "topics.yaml" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_usage_error_exits_2(tmp_path: Path) -> None:
    done = survey("build", "--no-such-option", cwd=tmp_path)
    assert done.returncode == 2
    assert "No such option" in done.stderr
