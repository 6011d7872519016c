"""Reading rule-document text: YAML or JSON into plain JSON data (pure).

YAML is read strictly: only ``true``/``false`` are booleans, no implicit dates, no duplicate
keys; JSON rejects duplicate keys and NaN. Syntax errors become a :class:`RuleDocumentError`.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from zhikong.rules.documents import (
    MAX_DOCUMENT_CHARS,
    DocumentIssue,
    RuleDocumentError,
    SourceFormat,
)

_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:(?:0|[1-9][0-9]*)\.[0-9]*(?:[eE][-+]?[0-9]+)?"
    r"|(?:0|[1-9][0-9]*)[eE][-+]?[0-9]+|\.[0-9]+(?:[eE][-+]?[0-9]+)?)"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


class _Loader(yaml.SafeLoader):
    """YAML read as JSON is: no aliases, no duplicate keys, no dates, only true/false booleans.

    YAML 1.1 would read ``yes``/``no``/``on``/``off`` as booleans, ``2020-02-17`` as a date,
    ``010`` as octal and ``12:30`` as 750; here they stay strings.
    """

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None,
                None,
                "YAML aliases (*name) are not allowed in rule documents; write the value out",
                event.start_mark,
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_text(text: str, source_format: SourceFormat = "yaml") -> Any:
    """Parse YAML or JSON text into plain JSON data; RuleDocumentError on a syntax error."""
    if len(text) > MAX_DOCUMENT_CHARS:
        raise RuleDocumentError(
            [DocumentIssue("", f"the document is longer than {MAX_DOCUMENT_CHARS} characters")]
        )
    try:
        if source_format == "json":
            return _parse_json(text)
        return yaml.load(text, Loader=_Loader)
    except RecursionError:
        raise RuleDocumentError([DocumentIssue("", "the document is nested too deeply")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "unreadable"
        raise RuleDocumentError(
            [DocumentIssue("", f"YAML syntax error{where}: {problem}")]
        ) from None
    except yaml.YAMLError as exc:
        raise RuleDocumentError([DocumentIssue("", f"YAML syntax error: {exc}")]) from None


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise RuleDocumentError(
            [
                DocumentIssue(
                    "", f"JSON syntax error at line {exc.lineno}, column {exc.colno}: {exc.msg}"
                )
            ]
        ) from None
    except ValueError as exc:
        raise RuleDocumentError([DocumentIssue("", f"JSON error: {exc}")]) from None
