"""YAML that people type (scorecards, shopper forms, bonus rules), read safely.

Safe types only; no aliases, because `*name` is how 570 bytes of YAML become hundreds of
megabytes (each alias repeats its anchor's whole tree: a "billion laughs" bomb); and no string
longer than MAX_STRING characters, so a stored definition cannot turn into a huge page or label;
nor nesting so deep that the parser runs out of stack.
Errors are yaml.YAMLError with the line where the problem is.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

MAX_STRING = 10_000


class _Loader(yaml.SafeLoader):
    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise ComposerError(
                None, None, "aliases (*name) are not allowed: write the value out", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_yaml_str(self, node: yaml.ScalarNode) -> str:
        value = super().construct_scalar(node)
        if len(value) > MAX_STRING:
            raise ConstructorError(
                None,
                None,
                f"a text of {len(value)} characters; at most {MAX_STRING} are allowed",
                node.start_mark,
            )
        return str(value)


_Loader.add_constructor("tag:yaml.org,2002:str", _Loader.construct_yaml_str)


class _LineLoader(_Loader):
    """Records the line of every mapping (as `__line__`) so errors can point at it."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[Hashable, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load(text: str, *, lines: bool = False) -> Any:
    """The document in `text`; with `lines`, every mapping carries its `__line__`."""
    try:
        return yaml.load(text, Loader=_LineLoader if lines else _Loader)  # noqa: S506 (SafeLoader)
    except RecursionError:  # "[[[[...]]]]" thousands deep: a bomb of another kind
        raise yaml.YAMLError("lists or mappings nested too deeply") from None


def problem(exc: yaml.YAMLError) -> tuple[int | None, str]:
    """(line, what is wrong) of a YAML error, for a message a person can act on."""
    mark = getattr(exc, "problem_mark", None)
    return (mark.line + 1 if mark else None), str(getattr(exc, "problem", None) or exc)
