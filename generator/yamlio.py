"""Safe YAML reading and writing with exact-string round trips.

Reading uses a restricted schema: only `null`/`~`/empty, `true`/`false`, plain decimal
integers (no leading zero) and plain decimals like `1.5` are typed; everything else (`yes`,
`NO`, `012`, `0x10`, `1e3`, `.inf`, `2024-01-01`) stays the string it was. An unquoted
`2301.10000` reads as a number, so writing always quotes such strings and entry fields that
must be text refuse numbers with the file and line. Duplicate keys, custom tags and
anchors/aliases on mappings and lists (alias bombs) are rejected with the file and line;
an alias of a single value is harmless and allowed.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml

from .errors import ContentError

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """SafeLoader with a small implicit-type schema and strict mappings."""

    yaml_implicit_resolvers: dict = {}

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._seen_nodes: set[int] = set()

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Refuse any node reached twice: that only happens through an alias."""
        if isinstance(node, yaml.CollectionNode):
            if id(node) in self._seen_nodes:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    "anchors and aliases are not allowed in content files",
                    node.start_mark,
                )
            self._seen_nodes.add(id(node))
        return super().construct_object(node, deep=deep)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        """Build a mapping, refusing duplicate keys."""
        if not isinstance(node, yaml.MappingNode):
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a mapping, found {node.id}", node.start_mark
            )
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a plain value", key_node.start_mark
                ) from None
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    f"while reading the mapping that starts at line {node.start_mark.line + 1}",
                    node.start_mark,
                    f"duplicate key {key!r} (first at line {seen[key].start_mark.line + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def _add_resolver(tag: str, pattern: str, first: str) -> None:
    _Loader.add_implicit_resolver(tag, re.compile(pattern, re.X), list(first))


_add_resolver("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", "~nN")
_Loader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^$"), [""])
_add_resolver("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF")
_add_resolver("tag:yaml.org,2002:int", r"^(?:[-+]?(?:0|[1-9][0-9]*))$", "-+0123456789")
_add_resolver("tag:yaml.org,2002:float", r"^(?:[-+]?(?:0|[1-9][0-9]*)\.[0-9]+)$", "-+0123456789")

_MAX_BYTES = 2_000_000


def loads(text: str, path: Path | str = "<string>") -> Any:
    """Parse YAML text, raising ContentError with path and line on any problem."""
    if len(text) > _MAX_BYTES:
        raise ContentError(path, None, f"file is larger than {_MAX_BYTES} bytes")
    data = _read_own(text)
    if data is not None:
        return data
    return _pyyaml_loads(text, path)


def _pyyaml_loads(text: str, path: Path | str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or "invalid YAML"
        if exc.context and "duplicate" not in problem:
            problem = f"{problem} ({exc.context})"
        raise ContentError(path, line, f"YAML error: {problem}") from None
    except yaml.YAMLError as exc:
        raise ContentError(path, None, f"YAML error: {exc}") from None


def load_file(path: Path) -> Any:
    """Read and parse one YAML file (UTF-8, BOM tolerated)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ContentError(
            path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    except OSError as exc:
        raise ContentError(path, None, f"cannot read: {exc.strerror}") from None
    return loads(text, path)


def dumps(data: Any) -> str:
    """Serialise data as block-style YAML, keeping key order and quoting ambiguous strings.

    Mappings, lists and scalars that `_Writer` can prove it writes exactly as PyYAML would
    are written directly (much faster); anything else goes through PyYAML.
    """
    try:
        return _Writer().document(data)
    except _Unsupported:
        return _pyyaml_dumps(data)


def _pyyaml_dumps(data: Any) -> str:
    return yaml.dump(
        data,
        Dumper=_BaseDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=_WIDTH,
    )


# ---------------------------------------------------------------- fast writer
#
# What `yaml.dump` with the options above does (libyaml's emitter through PyYAML's
# representer), for the shapes written here: block mappings and indentless block lists of
# mappings or scalars, empty lists as `[]`, empty mappings as `{}`. A scalar value follows its
# key (`key: value`, continuation lines indented two more than the key) or its dash. A string
# is plain unless a YAML resolver would read it as something else (`null`, `2024-01-01`,
# `1.5`, `yes`) or an indicator forbids it (`: `, ` #`, a leading `- `, `[`, `'`, ...); then it
# is single-quoted with `'` doubled. Both styles break lines at a single space between two
# non-spaces once the line is longer than the width. Any other character set (tabs, line
# breaks, control or non-BMP characters, no-break space), shared containers (PyYAML would
# write anchors) and other types raise `_Unsupported`.

_WIDTH = 100
_STR_TAG = "tag:yaml.org,2002:str"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_INT_TAG = "tag:yaml.org,2002:int"
_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# What PyYAML writes plainly: printable BMP text without NEL, NBSP, the line and paragraph
# separators or the BOM. Spelt as the complement, which compiles ten times faster (4 ms).
_SAFE_CHAR = "[^\x00-\x1f\x7f-\xa0\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff\U00010000-\U0010ffff]"
_SAFE_TEXT = re.compile(_SAFE_CHAR + "+")
_RUNS = re.compile(r" +|[^ ]+")
_INDICATORS = frozenset("#,[]{}&*!|>'\"%@`")
_RESOLVER = yaml.resolver.Resolver()
_NO_WILDCARD = None not in _RESOLVER.yaml_implicit_resolvers


class _Unsupported(Exception):
    """A value the fast writer cannot prove it writes exactly as PyYAML does."""


def _resolved(text: str) -> str:
    """Return the tag PyYAML's dumper would read from a plain scalar."""
    if text and text[0] not in _RESOLVER.yaml_implicit_resolvers and _NO_WILDCARD:
        return _STR_TAG  # what `resolve` returns when no implicit resolver is looked at
    if len(text) > 40:
        return _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))
    return _resolved_short(text)


@functools.lru_cache(maxsize=8192)
def _resolved_short(text: str) -> str:
    """Resolve a short scalar (numbers, ids and kinds repeat from entry to entry)."""
    return _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))


class _Writer:
    """Write one document; refuse (raise `_Unsupported`) anything not provably identical."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.seen: set[int] = set()

    def document(self, data: Any) -> str:
        """Return the YAML text of a non-empty root mapping."""
        if type(data) is not dict or not data:
            raise _Unsupported
        self.mapping(data, 0, "")
        return "".join(self.out)

    def container(self, value: dict | list) -> None:
        """Refuse a container met twice: PyYAML would write an anchor and an alias."""
        if id(value) in self.seen:
            raise _Unsupported
        self.seen.add(id(value))

    def mapping(self, data: dict, indent: int, lead: str) -> None:
        """Write a block mapping whose keys start at `indent` (the first after `lead`)."""
        self.container(data)
        for key, value in data.items():
            head = f"{lead}{_key(key)}:"
            lead = " " * indent
            if type(value) in (dict, list) and value:
                self.out.append(head + "\n")
                self.nested(value, indent)
            else:
                self.out.append(f"{head} {self.scalar(value, len(head) + 1, indent + 2)}\n")

    def nested(self, value: dict | list, indent: int) -> None:
        """Write a non-empty mapping or list that is the value of a key at `indent`."""
        if type(value) is dict:
            self.mapping(value, indent + 2, " " * (indent + 2))
        else:
            self.sequence(value, indent)  # PyYAML does not indent a list under its key

    def sequence(self, items: list, indent: int) -> None:
        """Write a block list whose dashes are at `indent`."""
        self.container(items)
        for item in items:
            lead = " " * indent + "- "
            if type(item) is dict and item:
                self.mapping(item, indent + 2, lead)
            elif type(item) in (dict, list):
                raise _Unsupported
            else:
                self.out.append(f"{lead}{self.scalar(item, indent + 2, indent + 2)}\n")

    def scalar(self, value: Any, column: int, indent: int) -> str:
        """Return a scalar starting at `column`, its continuation lines at `indent`."""
        kind = type(value)
        if value is None:
            return "null"
        if kind is bool:
            return "true" if value else "false"
        if kind is int:
            return _typed(str(value), _INT_TAG)
        if kind is float:
            return _typed(repr(value), _FLOAT_TAG)
        if kind is str:
            if column + len(value) + value.count("'") + 2 <= _WIDTH:
                return _short_string(value)  # too short to fold wherever it starts
            return _string(value, column, indent)
        if kind in (dict, list) and not value:
            self.container(value)
            return "{}" if kind is dict else "[]"
        raise _Unsupported


def _key(key: Any) -> str:
    if type(key) is not str or not _simple_key(key):
        raise _Unsupported
    return key


@functools.lru_cache(maxsize=1024)
def _simple_key(key: str) -> bool:
    """Tell whether PyYAML writes a mapping key as this plain word."""
    return bool(_KEY_RE.fullmatch(key)) and _resolved(key) == _STR_TAG


def _typed(text: str, tag: str) -> str:
    """Return a number's text when PyYAML writes it so and reads it back as `tag`."""
    if "e" in text or _resolved(text) != tag:
        raise _Unsupported  # exponents, inf and nan are spelled differently by PyYAML
    return text


@functools.lru_cache(maxsize=8192)
def _short_string(text: str) -> str:
    """Return a string that fits on its line as written (ids, dates, evidence repeat a lot)."""
    return _string(text, 0, 0)


def _string(text: str, column: int, indent: int) -> str:
    if not text and _resolved(text) != _STR_TAG:
        return "''"  # an empty plain scalar would read as null
    if not _SAFE_TEXT.fullmatch(text):
        raise _Unsupported  # a character PyYAML escapes or treats as a line break
    if _plain(text) and _resolved(text) == _STR_TAG:
        return _fold(text, column, indent)
    return "'" + _fold(text.replace("'", "''"), column + 1, indent) + "'"


def _plain(text: str) -> bool:
    """Tell whether libyaml allows `text` as a plain scalar in block context."""
    first = text[0]
    return not (
        first in _INDICATORS
        or (first in "?:-" and text[1:2] in ("", " "))
        or text.startswith(("---", "..."))
        or first == " "
        or text[-1] in ": "
        or ": " in text
        or " #" in text
    )


def _fold(text: str, column: int, indent: int) -> str:
    """Break `text` at single inner spaces wherever the line has grown past the width."""
    if column + len(text) <= _WIDTH + 1:
        return text  # a break needs a space seen beyond the width
    if "  " in text or text[0] == " " or text[-1] == " ":
        return _fold_runs(text, column, indent)
    lines, start = [], 0
    while (cut := text.find(" ", start + max(1, _WIDTH + 1 - column))) != -1:
        lines.append(text[start:cut])  # every space here lies between two non-spaces
        start, column = cut + 1, indent
    lines.append(text[start:])
    return ("\n" + " " * indent).join(lines)


def _fold_runs(text: str, column: int, indent: int) -> str:
    """Fold like `_fold`, for text with repeated, leading or trailing spaces."""
    runs = _RUNS.findall(text)
    pieces, last = [], len(runs) - 1
    for i, run in enumerate(runs):
        if run == " " and 0 < i < last and column > _WIDTH:
            pieces.append("\n" + " " * indent)
            column = indent
        else:
            pieces.append(run)
            column += len(run)
    return "".join(pieces)


# ---------------------------------------------------------------- fast reader
#
# Most content files are exactly what `dumps` wrote, under a few comment lines. `_read_own`
# decodes that layout directly and accepts the result only if `dumps` gives back the very
# same text: `dumps` writes what PyYAML writes, and what it writes reads back as the value
# written, so the value is the one PyYAML would read. Any other text (hand-edited layouts,
# flow style, anchors, CRLF, tabs, a mistake) fails the comparison and goes through PyYAML,
# which also gives the errors with file and line.

_COMMENT = re.compile("#" + _SAFE_CHAR + "*\n")
_CONSTANTS: dict[str, Any] = {"null": None, "true": True, "false": False}
_NUMBER = re.compile(r"[-+]?(?:0|[1-9][0-9]*)(\.[0-9]+)?\Z")


class _Unread(Exception):
    """A text `_read_own` does not decode (PyYAML will)."""


def _read_own(text: str) -> Any:
    """Return the data of a text laid out as `dumps` writes it, or None."""
    start = 0
    while (comment := _COMMENT.match(text, start)) is not None:
        start = comment.end()
    body = text[start:]
    if not body.endswith("\n"):
        return None
    try:
        data, end = _Reader(body.split("\n")).mapping(0, 0)
    except _Unread:
        return None
    if not data or end != body.count("\n"):
        return None
    try:
        same = _Writer().document(data) == body
    except _Unsupported:
        return None
    return data if same else None


class _Reader:
    """Decode block mappings, indentless lists and folded scalars, line by line."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def at(self, row: int, indent: int) -> str | None:
        """Return the line's text after `indent` spaces, if it starts a node there."""
        line = self.lines[row]
        if line[:indent] == " " * indent and line[indent : indent + 1] not in ("", " "):
            return line[indent:]
        return None

    def mapping(self, row: int, indent: int, first: str | None = None) -> tuple[dict, int]:
        """Read the mapping whose keys start at `indent` (its first line given, or at `row`)."""
        data: dict[str, Any] = {}
        while (line := first if first is not None else self.at(row, indent)) is not None:
            if line.startswith("- "):
                if first is not None:
                    raise _Unread  # `- - x`: a list in a list
                break
            first = None
            key, colon, rest = line.partition(":")
            if not colon:
                raise _Unread
            if rest:
                data[key], row = self.scalar(rest[1:], row + 1, indent + 2)
            else:
                data[key], row = self.nested(row + 1, indent)
        return data, row

    def nested(self, row: int, indent: int) -> tuple[Any, int]:
        """Read the mapping or list below a key at `indent`."""
        line = self.at(row, indent)
        if line is not None and line.startswith("- "):
            return self.sequence(row, indent)
        return self.mapping(row, indent + 2)

    def sequence(self, row: int, indent: int) -> tuple[list, int]:
        """Read the list whose dashes are at `indent`."""
        items: list[Any] = []
        while (line := self.at(row, indent)) is not None and line.startswith("- "):
            item = line[2:]
            if item[:1] != "'" and (": " in item or item.endswith(":")):
                value, row = self.mapping(row, indent + 2, item)
            else:
                value, row = self.scalar(item, row + 1, indent + 2)
            items.append(value)
        return items, row

    def scalar(self, text: str, row: int, indent: int) -> tuple[Any, int]:
        """Read a scalar and its continuation lines (indented by `indent`)."""
        pieces = [text]
        lead = " " * indent
        while self.lines[row].startswith(lead):
            pieces.append(self.lines[row][indent:])
            row += 1
        text = " ".join(pieces)
        if text[:1] == "'":
            if len(text) < 2 or text[-1] != "'":
                raise _Unread
            return text[1:-1].replace("''", "'"), row
        if text in _CONSTANTS:
            return _CONSTANTS[text], row
        if text in ("[]", "{}"):
            return ([] if text == "[]" else {}), row
        number = _NUMBER.match(text)
        if number is None:
            return text, row
        return (float(text) if number.group(1) else int(text)), row
