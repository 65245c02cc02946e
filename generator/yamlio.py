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
    """Serialise data as block-style YAML, keeping key order and quoting ambiguous strings."""
    return yaml.dump(
        data,
        Dumper=_BaseDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
