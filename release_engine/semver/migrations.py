"""Evidence from the payload's database migrations: the Alembic revisions new since the release.

Each revision file is read as a Python AST, not run: reading it must not execute the project's
code or need a database, and a migration's operations are written as calls such as
``op.drop_column("bars", "source")`` or, in batch mode, ``batch.drop_column("source")``, which
the AST shows as they are. (Alembic has no API that lists a script's operations without running
it against a connection.) A revision is new when its ``revision`` id is not among the release's.
In a new revision's ``upgrade()``, a dropped or renamed table or column (``drop_table``,
``drop_column``, ``rename_table``, ``alter_column(..., new_column_name=...)``, or raw SQL in
``op.execute`` that says ``DROP TABLE``, ``DROP COLUMN`` or ``RENAME``) is a break: data or
names that the released version reads are gone. So is a ``downgrade()`` that is missing or does
nothing but ``pass`` or ``raise``: the release could not be rolled back. Operations made in
loops or helper functions are not seen; say so in the fragment (``BREAKING:``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from .evidence import PARSING, Finding, Payload, SourceUnread

__all__ = ["compare", "revisions"]

_DROPS = {
    "drop_table": "drops table",
    "drop_column": "drops column",
    "rename_table": "renames table",
}
_RAW_SQL = re.compile(r"\b(DROP\s+(TABLE|COLUMN)|RENAME)\b", re.IGNORECASE)


def revisions(tree: Path, payload: Payload) -> dict[str, tuple[Path, ast.Module]]:
    """Every revision file of *tree* by its ``revision`` id, parsed."""
    found: dict[str, tuple[Path, ast.Module]] = {}
    directory = tree / payload.migrations_dir
    for path in sorted(directory.glob("*.py")) if directory.is_dir() else []:
        try:
            text = path.read_text(encoding="utf-8")
            with PARSING:  # see PARSING: the sources parse in threads
                module = ast.parse(text, filename=str(path))
        except SyntaxError as exc:
            raise SourceUnread(f"{path.name} of {tree.name} does not parse: {exc.msg}") from None
        revision = _constant(module, "revision")
        if revision is not None:
            found[revision] = (path, module)
    return found


def _constant(module: ast.Module, name: str) -> str | None:
    for node in module.body:
        target: ast.expr | None = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and target.id == name and isinstance(value, ast.Constant):
            return str(value.value)
    return None


def _function(module: ast.Module, name: str) -> ast.FunctionDef | None:
    found = (n for n in module.body if isinstance(n, ast.FunctionDef) and n.name == name)
    return next(found, None)


def _args(call: ast.Call) -> str:
    words = [str(a.value) for a in call.args if isinstance(a, ast.Constant)]
    return ".".join(words) or "?"


def _drops(function: ast.FunctionDef) -> list[tuple[str, int]]:
    """What *function* drops or renames, with the line."""
    found = []
    for node in ast.walk(function):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        name = node.func.attr
        if name in _DROPS:
            found.append((f"{_DROPS[name]} {_args(node)}", node.lineno))
        elif name == "alter_column" and any(k.arg == "new_column_name" for k in node.keywords):
            found.append((f"renames column {_args(node)}", node.lineno))
        elif name == "execute" and node.args and isinstance(node.args[0], ast.Constant):
            sql = str(node.args[0].value)
            if _RAW_SQL.search(sql):
                found.append((f"runs {' '.join(sql.split())[:60]!r}", node.lineno))
    return found


def _no_downgrade(module: ast.Module) -> str | None:
    """Why the revision cannot be rolled back, or None."""
    function = _function(module, "downgrade")
    if function is None:
        return "has no downgrade()"
    body = [
        n
        for n in function.body
        if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))
    ]
    if all(isinstance(n, ast.Pass) for n in body):
        return "has a downgrade() that does nothing"
    if isinstance(body[0], ast.Raise):
        return "has a downgrade() that raises"
    return None


def compare(old: Path, new: Path, payload: Payload) -> list[Finding]:
    """The breaks in the revisions *new* adds to *old*'s."""
    released = revisions(old, payload)
    found = []
    for revision, (path, module) in revisions(new, payload).items():
        if revision in released:
            continue
        shown = str(path.relative_to(new))
        upgrade = _function(module, "upgrade")
        for what, line in _drops(upgrade) if upgrade is not None else []:
            found.append(
                Finding("migrations", "break", f"revision {revision} {what}", f"{shown}:{line}")
            )
        why = _no_downgrade(module)
        if why is not None:
            found.append(Finding("migrations", "break", f"revision {revision} {why}", shown))
    return found
