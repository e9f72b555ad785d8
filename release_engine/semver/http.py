"""Evidence from the payload's HTTP API: the OpenAPI document FastAPI builds for each version.

Each version's ``app`` (``<package>.api``) is imported in a process of its own (:mod:`.probe`)
and asked for ``app.openapi()``; building the document touches no database. Compared: every
path and method (gone: a break; new: a feature), each operation's required parameters (a new
one breaks callers) and the fields of its successful response's schema (a field gone breaks
readers). ``$ref`` schemas are resolved in the document they come from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .evidence import Finding, Payload
from .probe import MISSING, answer

__all__ = ["QUESTION", "compare", "diff", "document"]

#: What the probe runs with ``module``, the HTTP module, imported: it sets ``answer``.
QUESTION = """
app = getattr(module, "app", None)
if app is None and hasattr(module, "create_app"):
    app = module.create_app()
if app is None:
    raise SystemExit(f"{module.__name__} has no app")
answer = app.openapi()
"""
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def document(tree: Path, payload: Payload) -> dict[str, Any] | None:
    """*tree*'s OpenAPI document, or None when it has no HTTP API."""
    found = answer(tree, payload, "http")
    return None if found == MISSING else dict(found)


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while isinstance(schema, dict) and "$ref" in schema:
        node: Any = doc
        for part in str(schema["$ref"]).lstrip("#/").split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        schema = node
    return schema if isinstance(schema, dict) else {}


def _fields(doc: dict[str, Any], operation: dict[str, Any]) -> set[str]:
    """The properties of the successful (2xx) JSON response, of its items for a list."""
    found: set[str] = set()
    for status, response in operation.get("responses", {}).items():
        if not str(status).startswith("2"):
            continue
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        schema = _resolve(doc, schema)
        if schema.get("type") == "array":
            schema = _resolve(doc, schema.get("items", {}))
        found |= set(schema.get("properties", {}))
    return found


def _required(operation: dict[str, Any]) -> set[str]:
    names = {
        f"{p.get('in')} {p.get('name')}"
        for p in operation.get("parameters", [])
        if p.get("required")
    }
    if operation.get("requestBody", {}).get("required"):
        names.add("request body")
    return names


def _operations(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, item in doc.get("paths", {}).items()
        for method, operation in item.items()
        if method in _METHODS
    }


def compare(old: Path, new: Path, payload: Payload) -> list[Finding]:
    """What the HTTP API lost (breaks) and gained (features) from *old* to *new*."""
    before = document(old, payload)
    if before is None:
        return []
    return diff(before, document(new, payload) or {}, payload.file_of(payload.http_module))


def diff(before: dict[str, Any], after: dict[str, Any], where: str) -> list[Finding]:
    """The breaks and features from the OpenAPI document *before* to *after*."""
    was, now = _operations(before), _operations(after)
    found = []
    for name, operation in was.items():
        if name not in now:
            found.append(Finding("http", "break", f"{name} removed", where))
            continue
        for parameter in sorted(_required(now[name]) - _required(operation)):
            what = f"{name} requires a new {parameter}"
            found.append(Finding("http", "break", what, where))
        for gone in sorted(_fields(before, operation) - _fields(after, now[name])):
            what = f"{name} no longer returns the field {gone!r}"
            found.append(Finding("http", "break", what, where))
    found += [Finding("http", "feature", f"{name} added", where) for name in now if name not in was]
    return found
