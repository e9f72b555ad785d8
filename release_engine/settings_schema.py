"""The one typed schema of ``[tool.release]``: what each setting may hold, checked, not trusted.

pyproject.toml's table (:func:`check_table`) and ``--set KEY=VALUE`` (:func:`parse_setting`)
are judged by the same :data:`SPECS`; ``docs/tool-release.schema.json`` is made from them
(:func:`json_schema`, ``python -m release_engine.settings_schema``), so editors, pre-commit and
validate-pyproject (``--tool release=docs/tool-release.schema.json``) catch a typo before a run.
The defaults are :class:`~release_engine.config.ReleaseConfig`'s own.

The checking is written here rather than handed to a JSON Schema validator: the engine's
answer to a wrong value is one line naming the key and what to write instead (with difflib's
nearest key for a typo), and jsonschema is not a dependency of a release. The test suite holds
the two to the same verdicts on every value it tries.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import fields
from typing import Any

from .config import MERGE_MODES, NEXT_CYCLES, ReleaseConfig
from .remotes import announcers, remotes
from .spec import Spec, path

__all__ = [
    "RENAMED",
    "SETTINGS",
    "SPECS",
    "Spec",
    "check_table",
    "check_tool_names",
    "json_schema",
    "parse_setting",
    "problem",
    "schema_text",
    "suggest",
]

#: Every ``[tool.release]`` key. A key whose name changed stays in :data:`RENAMED`.
SPECS: dict[str, Spec] = {
    "package": Spec("str", "the distribution name on the package index",
                    pattern=r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?", settable=False,
                    hint="use the project's distribution name, such as market-data-ingestion"),
    "main_branch": Spec("str", "the branch releases are cut from and merged back into",
                        pattern=r"(?!-)[\w./-]+", hint="use a branch name such as main"),
    "remote": Spec("str", "the git remote pushed to and checked against",
                   pattern=r"(?!-)[\w.-]+", hint="use a git remote's name such as origin"),
    "tag_prefix": Spec("str", "what precedes X.Y.Z in a release tag", pattern=r"[\w./-]*",
                       hint='use the tags\' prefix such as "v" (a string, in quotes)'),
    "deploy_manifests": path("list", "files whose image tag the release moves", ()),
    "next_cycle": Spec("str", "what starts the next development cycle", choices=NEXT_CYCLES),
    "merge": Spec("str", "how the engine's changes reach main", choices=MERGE_MODES),
    "pull_request_timeout": Spec("int", "seconds a pull request's checks are waited for",
                                 minimum=1, hint="use a number of seconds"),
    "required_channels": Spec("list", "stakeholder channels a release must reach",
                              choices=tuple(r.channel for r in announcers())),
    "docs_paths": path("list", "the documentation a release with news must have changed",
                      ("docs/", "README.md")),
    **{key: spec for remote in remotes() for key, spec in remote.settings.items()},
}  # fmt: skip

#: Keys that were renamed: the old name, and the new one it is refused with.
RENAMED: dict[str, str] = {}

#: The keys ``--set`` may change.
SETTINGS = tuple(sorted(k for k, spec in SPECS.items() if spec.settable))

_KINDS = {"str": "a string (in quotes)", "bool": "true or false", "int": "a whole number",
          "list": "a list of strings, such as [\"a\", \"b\"]"}  # fmt: skip


def suggest(word: str, known: list[str] | tuple[str, ...]) -> str:
    """`` (did you mean 'x'?)`` for the nearest of *known*, or nothing."""
    near = difflib.get_close_matches(word, known, n=1, cutoff=0.75)
    return f" (did you mean {near[0]!r}?)" if near else ""


def check_tool_names(tool: dict[str, Any]) -> str | None:
    """A ``[tool.X]`` table whose name is a near miss of one the engine reads, in one line."""
    wanted = ("release", "towncrier", "bumpversion")
    for name in tool:
        if name in wanted:
            continue
        near = difflib.get_close_matches(name, wanted, n=1, cutoff=0.8)
        if near:
            return (
                f"pyproject.toml has a table [tool.{name}], which nothing reads: "
                f"did you mean [tool.{near[0]}]? rename it"
            )
    return None


def _shown(value: object) -> str:
    """*value* as the error shows it: what precedes an ``@`` (a login, in a URL) hidden."""
    if isinstance(value, str) and "@" in value:
        return repr(f"***@{value.rpartition('@')[2]}")
    return repr(value)


def problem(key: str, value: object) -> str | None:
    """What is wrong with ``key = value``, as ``key = value: what to write``; None: fine."""
    spec = SPECS[key]
    ok = {"str": str, "bool": bool, "int": int, "list": list}[spec.kind]
    if not isinstance(value, ok) or (spec.kind == "int" and isinstance(value, bool)):
        return f"{key} = {_shown(value)}: use {_KINDS[spec.kind]}"
    items = value if isinstance(value, list) else [value]
    for item in items:
        if spec.kind == "list" and not isinstance(item, str):
            return f"{key} = {_shown(value)}: use {_KINDS['list']}"
        wrong = _item_problem(spec, item)
        if wrong:
            return f"{key} = {_shown(item if spec.kind == 'list' else value)}: {wrong}"
    return None


def _item_problem(spec: Spec, item: object) -> str | None:
    if spec.choices and item not in spec.choices:
        return f"use {' or '.join(json.dumps(c) for c in spec.choices)}"
    if spec.pattern and not re.fullmatch(spec.pattern, str(item)):
        return spec.hint
    if isinstance(item, int) and not (
        (spec.minimum is None or item >= spec.minimum)
        and (spec.maximum is None or item <= spec.maximum)
    ):
        return spec.hint
    return None


def check_table(table: dict[str, Any]) -> str | None:
    """The first thing wrong in ``[tool.release]`` *table*, in one line; None: all fine."""
    for key, value in table.items():
        if key in RENAMED:
            return f"[tool.release] {key} was renamed: write {RENAMED[key]} = {_shown(value)}"
        if key not in SPECS:
            return (
                f"[tool.release] has an unknown setting {key!r}{suggest(key, list(SPECS))}: "
                "fix pyproject.toml (docs/RELEASING.md lists the settings)"
            )
        wrong = problem(key, value)
        if wrong:
            return f"[tool.release] {wrong} (pyproject.toml)"
    return None


def parse_setting(key: str, text: str) -> tuple[object, str | None]:
    """``--set key=text`` as the value the table would hold, and what is wrong with it."""
    kind = SPECS[key].kind
    if kind == "bool":
        if text.lower() not in ("true", "false"):
            return text, f"{key}={text}: use true or false"
        return text.lower() == "true", None
    if kind == "int":
        if not text.isdigit():
            return text, f"{key}={text}: use a whole number"
        value: object = int(text)
    elif kind == "list":
        value = [v for v in text.split(",") if v]
    else:
        value = text
    return value, problem(key, value)


def json_schema() -> dict[str, Any]:
    """``[tool.release]`` as a JSON Schema, made from :data:`SPECS` (draft-07: the draft
    validate-pyproject's own schemas use, which a tool's schema must share)."""
    defaults = {f.name: f.default for f in fields(ReleaseConfig)}
    props: dict[str, Any] = {}
    for key, spec in SPECS.items():
        item: dict[str, Any] = {"type": "string"} if spec.kind == "list" else {}
        if spec.choices:
            item["enum"] = list(spec.choices)
        if spec.pattern:
            item["pattern"] = f"^(?:{spec.pattern})$"
        prop: dict[str, Any] = {"description": spec.meaning}
        if spec.kind == "list":
            prop |= {"type": "array", "items": item}
        else:
            prop |= {"type": {"str": "string", "bool": "boolean", "int": "integer"}[spec.kind]}
            prop |= item
        for bound in ("minimum", "maximum"):
            if getattr(spec, bound) is not None:
                prop[bound] = getattr(spec, bound)
        default = defaults.get(key)
        if isinstance(default, (str, bool, int, tuple)) and key != "package":
            prop["default"] = list(default) if isinstance(default, tuple) else default
        props[key] = prop
    for old, new in RENAMED.items():
        props[old] = {"deprecated": True, "description": f"renamed: use {new}", "not": {}}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://github.com/your-org/finbot/blob/main/docs/tool-release.schema.json",
        "title": "[tool.release]",
        "description": "The release engine's settings in pyproject.toml (docs/RELEASING.md).",
        "type": "object",
        "properties": props,
        "additionalProperties": False,
    }


def schema_text() -> str:
    """The file ``docs/tool-release.schema.json`` holds."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # python -m release_engine.settings_schema > docs/tool-release…
    print(schema_text(), end="")
