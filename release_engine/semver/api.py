"""Evidence from the payload's Python API: griffe's breaking-change detection.

griffe loads each version statically (no import: ``allow_inspection=False``) from its exported
tree, and :func:`griffe.find_breaking_changes` names each public object or parameter removed or
changed incompatibly (a parameter removed or made required, a kind changed, a base class
removed...). Public is griffe's rule: listed in ``__all__`` where a module has one, else a name
without a leading underscore. A public object that is new is a feature. The Alembic revisions
and ``__main__`` are left out: the migrations have a source of their own (:mod:`.migrations`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .evidence import PARSING, Finding, Payload, SourceUnread

__all__ = ["compare", "load"]


def load(tree: Path, payload: Payload) -> Any | None:
    """*tree*'s payload package as griffe sees it; None when the tree has none."""
    import griffe

    src = tree / payload.src if payload.src else tree
    if not (src / payload.package).exists() and not (src / f"{payload.package}.py").exists():
        return None
    try:
        with PARSING:
            return griffe.load(
                payload.package, search_paths=[src], allow_inspection=False, resolve_aliases=False
            )
    except Exception as exc:  # griffe's errors have no common base: any of them is unread
        raise SourceUnread(
            f"griffe could not load {payload.package} of {tree.name}: {exc}"
        ) from None


def _left_out(path: str, payload: Payload) -> bool:
    return path.startswith((f"{payload.package}.migrations", f"{payload.package}.__main__"))


def _where(obj: Any, *trees: Path) -> str:
    """*obj*'s file (relative to whichever tree holds it) and line."""
    shown = str(getattr(obj, "filepath", "?"))
    for tree in trees:
        try:
            shown = str(Path(obj.filepath).resolve().relative_to(tree.resolve()))
            break
        except (ValueError, TypeError, AttributeError):
            continue
    return f"{shown}:{obj.lineno}" if getattr(obj, "lineno", None) else shown


def _what(breakage: Any) -> str:
    """griffe's breakage in words: ``parameter was removed: pkg.f(b)``."""
    kind, path = str(breakage.kind.value).lower(), breakage.obj.path
    old, new = breakage.old_value, breakage.new_value
    name = getattr(old, "name", None) or getattr(new, "name", None)
    if kind.startswith("parameter") and name is not None:
        return f"{kind}: {path}({name})"
    if kind == "public object was removed":
        return f"{kind}: {path}"
    return f"{kind}: {path} ({old!s} -> {new!s})"


def _public(obj: Any, found: dict[str, Any]) -> dict[str, Any]:
    """Every public object under *obj* by path (imports and dunders left out)."""
    for name, member in obj.members.items():
        if member.is_alias or name.startswith("__") or not member.is_public:
            continue
        found[member.path] = member
        if member.is_module or member.is_class:
            _public(member, found)
    return found


def compare(old: Path, new: Path, payload: Payload) -> list[Finding]:
    """griffe's breakages from *old* to *new* (breaks) and the public objects new (features)."""
    import griffe

    before = load(old, payload)
    if before is None:
        return []
    after = load(new, payload)
    if after is None:
        return [Finding("api", "break", f"package {payload.package} removed", payload.package)]
    found = []
    for breakage in griffe.find_breaking_changes(before, after):
        obj = breakage.obj
        if _left_out(obj.path, payload):
            continue
        found.append(Finding("api", "break", _what(breakage), _where(obj, old, new)))
    was = _public(before, {})
    for path, obj in _public(after, {}).items():
        if path not in was and not _left_out(path, payload):
            found.append(Finding("api", "feature", f"{path} added", _where(obj, new)))
    return found
