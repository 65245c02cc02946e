"""Templates compiled in another process (`render.precompile`) are used only while current."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import jinja2
import pytest

from generator.render import make_environment, precompile, template_names
from tests.conftest import REPO


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    """Copy the project's templates into a folder the test may edit."""
    return Path(shutil.copytree(REPO / "templates", tmp_path / "templates"))


def _forbid_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a template was compiled again")

    monkeypatch.setattr(jinja2.Environment, "compile", refuse)


def test_precompiled_code_covers_every_template_and_is_used(
    templates: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = pickle.loads(pickle.dumps(precompile(templates)))  # as it crosses processes
    assert len(code) == len(template_names(templates)) > 10
    _forbid_compiling(monkeypatch)
    env = make_environment(templates, code)
    for name in template_names(templates):
        assert env.get_template(name).name == name


def test_precompiled_code_renders_like_a_fresh_compile(templates: Path) -> None:
    (templates / "probe.html").write_text(
        "{% for x in items %}<i>{{ x }}</i>{% endfor %} {{ 3 | plural('paper') }}\n"
    )
    env = make_environment(templates, precompile(templates))
    fresh = make_environment(templates)
    items = ["a", "<b>"]
    want = "<i>a</i><i>&lt;b&gt;</i> 3 papers\n"
    assert env.get_template("probe.html").render(items=items) == want
    assert fresh.get_template("probe.html").render(items=items) == want


def test_code_for_an_edited_template_is_not_used(templates: Path) -> None:
    (templates / "probe.html").write_text("old {{ x }}\n")
    code = precompile(templates)
    (templates / "probe.html").write_text("new {{ x }}\n")
    env = make_environment(templates, code)
    assert env.get_template("probe.html").render(x=1) == "new 1\n"


def test_a_broken_template_is_left_out_for_the_build_to_report(templates: Path) -> None:
    (templates / "broken.html").write_text("{% if x %}\n")
    code = precompile(templates)
    assert len(code) == len(template_names(templates)) - 1
    env = make_environment(templates, code)
    with pytest.raises(jinja2.TemplateSyntaxError) as caught:
        env.get_template("broken.html")
    assert caught.value.lineno == 1
