"""Markdown rendering, TeX-in-title cleanup and plain excerpts."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from generator.markup import (
    _TEX_MARKERS,
    EXTERNAL_REL,
    _Tex,
    is_safe_url,
    plain_excerpt,
    render_markdown,
    tex_to_text,
)

FIXTURES = Path(__file__).parent / "fixtures"


def _tex_cases() -> list[tuple[str, str]]:
    cases = []
    for line in (FIXTURES / "tex_titles.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            source, expected = line.split(" -> ", 1)
            cases.append((source, expected))
    return cases


def _soup(text: str) -> BeautifulSoup:
    return BeautifulSoup(str(render_markdown(text)), "html.parser")


# --------------------------------------------------------------------------- tex_to_text


@pytest.mark.parametrize(("source", "expected"), _tex_cases(), ids=lambda v: v[:40])
def test_tex_to_text_fixture(source: str, expected: str) -> None:
    assert tex_to_text(source) == expected


@pytest.mark.parametrize(
    "title", ["", "C++", "A & B <C>", "50% of {x}", "Résumé ~ 1B", "x-y", "C#", "100 $"]
)
def test_tex_to_text_leaves_plain_titles_alone(title: str) -> None:
    assert tex_to_text(title) == title


def test_tex_to_text_survives_deep_nesting_and_garbage() -> None:
    assert "x" in tex_to_text("{\\em " * 500 + "x" + "}" * 500)  # too deep: braces stay
    assert "x" in tex_to_text("$" + "^{" * 300 + "x" + "}" * 300 + "$")
    assert tex_to_text("\\hat" * 300 + "x")
    assert tex_to_text("\\") == "\\"


TEXISH = st.lists(
    st.sampled_from([*"ab1 $\\^_{}[]~'\"-+=()αμ", "\\mu", "\\frac", "\\sqrt[", "\\em", "$$"])
).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(TEXISH, st.text()))
def test_tex_parser_never_raises(title: str) -> None:
    out = _Tex(title).run(False, 0)  # the parser itself, without tex_to_text's safety net
    assert isinstance(out, str)
    # Titles without any TeX marker are shown as they are (e.g. a literal "{}").
    assert tex_to_text(title) == (out if _TEX_MARKERS.search(title) else title)


# --------------------------------------------------------------------------- render_markdown

UNSAFE_LINKS = [
    "[a](javascript:alert(1))",
    "[a](JaVaScRiPt:alert(1))",
    "[a](&#106;avascript:alert(1))",
    "[a](&#x6A;avascript:alert(1))",
    "[a](jav&#x09;ascript:alert(1))",
    "[a](jav&#10;ascript:alert(1))",
    "[a](<java\tscript:alert(1)>)",
    "[a](java%73cript:alert(1))",
    "[a](%6Aavascript:alert(1))",
    "[a](javascript&colon;alert(1))",
    "[a](&#x6a;&#x61;vascript&#58;alert(1))",
    "[a](java&Tab;script:alert(1))",
    "[a](javascript&NewLine;:alert(1))",
    "[a](java\u200bscript:alert(1))",
    "[a]( javascript:alert(1))",
    "[a](vbscript:msgbox(1))",
    "[a](VBScript:msgbox(1))",
    "[a](data:text/html;base64,PHNjcmlwdD4=)",
    "[a](DATA:image/png;base64,AAAA)",
    "[a](file:///etc/passwd)",
    "[a](//evil.example/x)",
    "[a](\\\\\\\\evil.example/x)",
    "<javascript:alert(1)>",
    "<vbscript:msgbox(1)>",
    "[x]\n\n[x]: javascript:alert(1)",
    "[x][r]\n\n[r]: <data:text/html,x>",
    "![i](javascript:alert(1))",
    "![i](data:image/png;base64,AAAA)",
]


@pytest.mark.parametrize("source", UNSAFE_LINKS)
def test_unsafe_links_are_plain_text(source: str) -> None:
    soup = _soup(source)
    assert soup.find_all("a") == [] or all(is_safe_url(a["href"]) for a in soup.find_all("a"))
    assert not any(
        "script" in a.get("href", "").lower() or "data" in a.get("href", "").lower()
        for a in soup.find_all("a")
    )
    assert soup.find("img") is None


@pytest.mark.parametrize(
    ("source", "href", "rel"),
    [
        ("[a](https://example.org/x?y=1&z=2)", "https://example.org/x?y=1&z=2", EXTERNAL_REL),
        ("[a](HTTP://EXAMPLE.ORG)", "HTTP://EXAMPLE.ORG", EXTERNAL_REL),
        ("<https://example.org>", "https://example.org", EXTERNAL_REL),
        ("[a](mailto:someone@example.org)", "mailto:someone@example.org", None),
        ("[a](../papers/x.html)", "../papers/x.html", None),
        ("[a](/topics/llm.html#top)", "/topics/llm.html#top", None),
        ("[a](#section)", "#section", None),
        ("[a](?q=1)", "?q=1", None),
        ("[a][r]\n\n[r]: https://example.org/r", "https://example.org/r", EXTERNAL_REL),
    ],
)
def test_safe_links_are_kept(source: str, href: str, rel: str | None) -> None:
    (link,) = _soup(source).find_all("a")
    assert link["href"] == href
    assert (" ".join(link["rel"]) if link.has_attr("rel") else None) == rel


def test_images_become_links_and_never_load() -> None:
    soup = _soup("![a chart](https://example.org/c.png) ![](local/p.png)")
    assert soup.find("img") is None
    links = soup.find_all("a")
    assert [(a["href"], a.get_text()) for a in links] == [
        ("https://example.org/c.png", "a chart"),
        ("local/p.png", "local/p.png"),
    ]
    assert links[0]["rel"] == EXTERNAL_REL.split()
    assert not links[1].has_attr("rel")


def test_raw_html_is_escaped() -> None:
    source = "<script>alert(1)</script>\n\n<b onclick=x>bold</b> <img src=x onerror=y>"
    out = str(render_markdown(source))
    soup = BeautifulSoup(out, "html.parser")
    assert [tag.name for tag in soup.find_all(True)] == ["p", "p"]
    assert "<script>alert(1)</script>" in soup.get_text()
    assert "onclick" not in "".join(str(t.attrs) for t in soup.find_all(True))


def test_markdown_features_and_determinism() -> None:
    source = "# T\n\n*em* **strong** ~~gone~~ `code`\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    out = render_markdown(source)
    assert isinstance(out, Markup)
    soup = BeautifulSoup(str(out), "html.parser")
    assert {t.name for t in soup.find_all(True)} >= {"h1", "em", "strong", "s", "code", "table"}
    assert render_markdown(source) == out


LINKISH = st.lists(
    st.sampled_from(
        [
            "[a](",
            "![b](",
            "<",
            ">",
            ")",
            "javascript",
            "JAVA",
            "&#106;",
            "&#x09;",
            "%6A",
            ":",
            "script",
            "data",
            "vbscript",
            "//",
            "\\",
            "http",
            "s",
            "mailto",
            "alert(1)",
            " ",
            "\n",
            "&",
            "\t",
            "[r]: ",
            "[r]",
            "<img src=x>",
            "\u200b",
            "x",
        ]
    ),  # fmt: skip
    max_size=14,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(LINKISH)
def test_fuzzed_markdown_only_emits_safe_links(source: str) -> None:
    soup = _soup(source)
    assert soup.find("img") is None
    assert soup.find("script") is None
    for tag in soup.find_all(True):
        assert not any(name.startswith("on") for name in tag.attrs)
    for link in soup.find_all("a"):
        assert is_safe_url(link["href"]), link


# --------------------------------------------------------------------------- plain_excerpt


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short text", 50, "short text"),
        ("  spaced \n\t out  ", 50, "spaced out"),
        ("hello world foo", 12, "hello world…"),
        ("hello world foo", 10, "hello…"),
        ("hello, world foo", 10, "hello…"),
        ("a" * 30, 10, "a" * 9 + "…"),
        ("hello world", 11, "hello world"),
        ("hello world", 1, "…"),
        ("hello world", 0, ""),
        ("", 5, ""),
    ],
)
def test_plain_excerpt_cases(text: str, limit: int, expected: str) -> None:
    assert plain_excerpt(text, limit) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab ,.\n")), max_size=80), st.integers(0, 60))
def test_plain_excerpt_properties(text: str, limit: int) -> None:
    out = plain_excerpt(text, limit)
    flat = " ".join(text.split())
    assert len(out) <= max(limit, 0)
    if out == flat or limit <= 0:
        assert out == (flat if limit >= len(flat) else "")
        return
    assert out.endswith("…")
    body = out[:-1]
    assert flat.startswith(body)
    after = flat[len(body) : len(body) + 1]
    hard_cut = " " not in flat[: limit - 1]  # one long word: nothing better than a hard cut
    assert hard_cut or not after.isalnum(), (flat, out)
