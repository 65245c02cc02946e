"""Atom feeds: validity under feedparser and lxml, hostile text, stable ids."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from generator.feeds import Feed, FeedItem, atom_feed, feed_id, xml_text

ATOM = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T00:00:00Z")
HOSTILE = [
    "]]>",
    "<script>alert(1)</script>",
    "Tom & Jerry &amp; &lt;",
    "line\u2028separator\u2029paragraph",
    "bell\x07null\x00esc\x1b vt\x0b ff\x0c",
    "lone \ud800 surrogate \udfff",
    "non-chars \ufffe\uffff end",
    "<![CDATA[ x ]]> <!-- c --> <?pi x?>",
    "quotes \" and ' and `",
    "tab\tnewline\ncr\r",
    "emoji 🧪 and RTL \u202e",
]


def _feed(**changes) -> Feed:
    values = dict(
        id=feed_id("feed", "all"),
        title="Survey: new papers",
        subtitle="Everything new",
        self_link="feeds/all.xml",
        alternate_link="../index.html",
        updated=dt.date(2024, 3, 1),
    )
    return Feed(**(values | changes))


def _item(n: int = 0, **changes) -> FeedItem:
    values = dict(
        id=feed_id("paper", f"paper-{n}"),
        title=f"Paper {n}",
        link=f"../papers/paper-{n}.html",
        updated=dt.date(2024, 2, 29),
        summary=f"Abstract {n}.",
        categories=("LLMs", "Vision"),
        authors_count=3,
    )
    return FeedItem(**(values | changes))


def _parse(data: bytes) -> tuple[feedparser.FeedParserDict, etree._Element]:
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    root = etree.fromstring(data)
    assert root.tag == f"{ATOM}feed"
    return parsed, root


def test_minimal_feed_has_the_required_elements() -> None:
    data = atom_feed(_feed(), [_item(1), _item(2)])
    assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns=')
    parsed, root = _parse(data)
    for tag in ("id", "title", "updated", "author"):
        assert root.find(f"{ATOM}{tag}") is not None, tag
    assert root.findtext(f"{ATOM}author/{ATOM}name")
    assert RFC3339.fullmatch(root.findtext(f"{ATOM}updated"))
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert links == {"self": "feeds/all.xml", "alternate": "../index.html"}
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 2
    for entry in entries:
        for tag in ("id", "title", "updated", "link", "summary"):
            assert entry.find(f"{ATOM}{tag}") is not None, tag
        assert entry.findtext(f"{ATOM}updated") == "2024-02-29T00:00:00Z"
    assert parsed.version == "atom10"
    assert parsed.feed.title == "Survey: new papers"
    assert parsed.feed.subtitle == "Everything new"
    assert parsed.feed.updated_parsed[:3] == (2024, 3, 1)


def test_entries_keep_order_and_fields() -> None:
    items = [_item(3), _item(1, authors_count=None, categories=()), _item(2, authors_count=1)]
    parsed, _ = _parse(atom_feed(_feed(), items))
    assert [e.title for e in parsed.entries] == ["Paper 3", "Paper 1", "Paper 2"]
    first = parsed.entries[0]
    assert first.id == feed_id("paper", "paper-3")
    assert first.link == "../papers/paper-3.html"
    assert first.summary == "Abstract 3."
    assert [t.term for t in first.tags] == ["LLMs", "Vision"]
    assert first.author == "3 authors"
    assert parsed.entries[2].author == "1 author"
    assert "tags" not in parsed.entries[1]
    assert "author" not in parsed.entries[1]  # Atom readers fall back to the feed's author


def test_empty_feed_and_empty_subtitle_are_valid() -> None:
    parsed, root = _parse(atom_feed(_feed(subtitle=""), []))
    assert parsed.entries == []
    assert root.find(f"{ATOM}subtitle") is None


def test_explicit_author() -> None:
    parsed, _ = _parse(atom_feed(_feed(author="The editors"), []))
    assert parsed.feed.author == "The editors"


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_comes_out_as_text(text: str) -> None:
    item = _item(title=text, summary=text, categories=(text,), link=f"x.html?q={text}")
    data = atom_feed(_feed(title=text, subtitle=text), [item])
    parsed, root = _parse(data)
    clean = xml_text(text)
    entry = root.find(f"{ATOM}entry")
    # XML parsers turn CR and CRLF in text into LF; everything else survives unchanged.
    assert entry.findtext(f"{ATOM}title") == clean.replace("\r", "\n")
    assert entry.findtext(f"{ATOM}summary") == clean.replace("\r", "\n")
    assert entry.find(f"{ATOM}category").get("term") == clean
    assert root.findtext(f"{ATOM}title") == clean.replace("\r", "\n")
    tags = [child.tag.removeprefix(ATOM) for child in entry]
    assert tags == ["id", "title", "updated", "author", "link", "category", "summary"]
    assert root.find(f".//{ATOM}script") is None and b"<script" not in data
    assert b"<![CDATA[" not in data
    assert parsed.entries[0].title.strip() == clean.replace("\r", "\n").strip()


def test_illegal_characters_are_removed() -> None:
    assert xml_text("a\x00b\x08c\x0bd\x1fe\ud800f\ufffeg\uffffh") == "abcdefgh"
    assert xml_text("tab\t lf\n cr\r \u2028 \x7f \x85 é") == "tab\t lf\n cr\r \u2028 \x7f \x85 é"


def test_output_is_deterministic_bytes() -> None:
    first = atom_feed(_feed(), [_item(1), _item(2)])
    assert isinstance(first, bytes)
    assert first == atom_feed(_feed(), [_item(1), _item(2)])
    first.decode("utf-8")


def test_feed_id_is_stable_uuid5_urn() -> None:
    value = feed_id("paper", "attention-is-all-you-need")
    assert value == feed_id("paper", "attention-is-all-you-need")
    assert value.startswith("urn:uuid:")
    assert uuid.UUID(value.removeprefix("urn:uuid:")).version == 5
    assert value != feed_id("topic", "attention-is-all-you-need")
    assert feed_id("a/b", "c") != feed_id("a", "b/c")
    assert feed_id("feed", "all") == "urn:uuid:fc97f088-f009-533c-8c89-0473382cba57"


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40), st.lists(st.text(max_size=10), max_size=3))
def test_any_text_gives_a_valid_feed(title: str, summary: str, categories: list[str]) -> None:
    item = _item(title=title, summary=summary, categories=tuple(categories))
    parsed, root = _parse(atom_feed(_feed(title=title), [item]))
    assert len(parsed.entries) == 1
    assert root.find(f"{ATOM}entry").findtext(f"{ATOM}summary") == xml_text(summary).replace(
        "\r\n", "\n"
    ).replace("\r", "\n")
