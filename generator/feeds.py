"""Atom 1.0 (RFC 4287) feeds built with ElementTree, never by pasting strings together."""

from __future__ import annotations

import datetime
import json
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

ATOM = "http://www.w3.org/2005/Atom"
# Fixed namespace for this project's uuid5 identifiers; changing it changes every feed id.
ID_NAMESPACE = uuid.UUID("65e6cf68-f09a-5d00-90fe-fe16f68f6c36")
GENERATOR = "survey-generator"
# XML 1.0 forbids C0 controls other than tab, LF and CR, surrogates, and U+FFFE/U+FFFF.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class FeedItem:
    """One entry of a feed: a paper."""

    id: str
    title: str
    link: str
    updated: datetime.date
    summary: str
    categories: tuple[str, ...]
    authors_count: int | None


@dataclass(frozen=True)
class Feed:
    """Feed-level metadata; `author` defaults to the feed title when empty."""

    id: str
    title: str
    subtitle: str
    self_link: str
    alternate_link: str
    updated: datetime.date
    author: str = ""


def feed_id(kind: str, name: str) -> str:
    """Return a stable `urn:uuid:` identifier for the thing `name` of type `kind`."""
    return uuid.uuid5(ID_NAMESPACE, json.dumps([kind, name])).urn


def xml_text(text: str) -> str:
    """Remove the characters XML 1.0 cannot carry."""
    return _ILLEGAL_XML.sub("", text)


def rfc3339(day: datetime.date) -> str:
    """Return midnight UTC of `day` as an RFC 3339 timestamp."""
    return f"{day.year:04d}-{day.month:02d}-{day.day:02d}T00:00:00Z"


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def _author(parent: ET.Element, name: str) -> None:
    _add(_add(parent, "author"), "name", name)


def _entry(parent: ET.Element, item: FeedItem) -> None:
    entry = _add(parent, "entry")
    _add(entry, "id", item.id)
    _add(entry, "title", item.title, type="text")
    _add(entry, "updated", rfc3339(item.updated))
    if item.authors_count:
        plural = "author" if item.authors_count == 1 else "authors"
        _author(entry, f"{item.authors_count:,} {plural}")
    _add(entry, "link", rel="alternate", type="text/html", href=item.link)
    for term in item.categories:
        _add(entry, "category", term=term)
    _add(entry, "summary", item.summary, type="text")


def atom_feed(feed: Feed, items: Sequence[FeedItem]) -> bytes:
    """Return the Atom document for `feed` with `items` in the given order, UTF-8 encoded."""
    # Unqualified tags plus a literal default-namespace declaration: ElementTree's
    # `default_namespace` option rejects unqualified attributes, and register_namespace is global.
    root = ET.Element("feed", {"xmlns": ATOM})
    _add(root, "id", feed.id)
    _add(root, "title", feed.title, type="text")
    if feed.subtitle:
        _add(root, "subtitle", feed.subtitle, type="text")
    _add(root, "updated", rfc3339(feed.updated))
    _author(root, feed.author or feed.title)
    _add(root, "link", rel="self", type="application/atom+xml", href=feed.self_link)
    _add(root, "link", rel="alternate", type="text/html", href=feed.alternate_link)
    _add(root, "generator", GENERATOR)
    for item in items:
        _entry(root, item)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n").encode("utf-8")
