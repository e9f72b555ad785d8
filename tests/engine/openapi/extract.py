"""Cut GitHub's OpenAPI description down to the operations the engine and the stand-in use.

GitHub publishes its REST API as an OpenAPI 3.0 description in the github/rest-api-description
repository (``descriptions/api.github.com/api.github.com.json``, about 13 MB). The contract test
needs a few operations of it: this script keeps exactly those (only the methods used, each
path's own parameters), every component they reference, transitively, and records where the
description came from. The examples of responses are left out (documentation, not contract),
and so is
anything named ``x-octokit`` (the extension the npm package ``@octokit/openapi`` adds to its
copy of the same file; GitHub's own file has none).

    python tests/engine/openapi/extract.py api.github.com.json \\
        --source-commit SHA --version 1.1.4 --date 2026-09-09 [--note "..."]

writes ``github-subset.json`` beside this script. The vendored one was cut from the copy of
GitHub's file in ``@octokit/openapi`` 23.0.2 (``generated/api.github.com.json``); its
``info.x-source`` says so, and why.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: (method, path) of every operation the engine sends or the stand-in answers.
OPERATIONS = [
    ("get", "/repos/{owner}/{repo}"),
    ("get", "/repos/{owner}/{repo}/releases"),
    ("post", "/repos/{owner}/{repo}/releases"),
    ("get", "/repos/{owner}/{repo}/releases/latest"),
    ("get", "/repos/{owner}/{repo}/releases/tags/{tag}"),
    ("get", "/repos/{owner}/{repo}/releases/{release_id}"),
    ("patch", "/repos/{owner}/{repo}/releases/{release_id}"),
    ("get", "/repos/{owner}/{repo}/releases/{release_id}/assets"),
    ("post", "/repos/{owner}/{repo}/releases/{release_id}/assets"),
    ("get", "/repos/{owner}/{repo}/releases/assets/{asset_id}"),
    ("post", "/repos/{owner}/{repo}/statuses/{sha}"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/status"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/check-runs"),
    ("get", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls"),
    ("get", "/repos/{owner}/{repo}/pulls"),
    ("post", "/repos/{owner}/{repo}/pulls"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("put", "/repos/{owner}/{repo}/pulls/{pull_number}/merge"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/commits"),
    ("put", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/dismissals"),
    ("get", "/repos/{owner}/{repo}/branches/{branch}/protection"),
    ("get", "/repos/{owner}/{repo}/rules/branches/{branch}"),
    ("get", "/repos/{owner}/{repo}/issues"),
    ("post", "/repos/{owner}/{repo}/issues"),
]
SUBSET = Path(__file__).with_name("github-subset.json")


def _clean(node: Any) -> Any:
    """*node* without the examples of media types and parameters, and without Octokit's
    extension (a schema keeps its own ``example``: it is part of the schema)."""
    if isinstance(node, dict):
        return {
            key: _clean(value)
            for key, value in node.items()
            if not key.startswith("x-octokit") and not (key == "examples" and "schema" in node)
        }
    if isinstance(node, list):
        return [_clean(item) for item in node]
    return node


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def subset(description: dict[str, Any]) -> dict[str, Any]:
    """The part of *description* the operations in :data:`OPERATIONS` need."""
    paths: dict[str, Any] = {}
    for method, path in OPERATIONS:
        item = description["paths"][path]
        kept = paths.setdefault(path, {k: v for k, v in item.items() if k == "parameters"})
        kept[method] = item[method]
    paths = _clean(paths)
    components: dict[str, dict[str, Any]] = {}
    todo = list(_refs(paths))
    while todo:
        ref = todo.pop()
        _, section, kind, name = ref.split("/")  # "#/components/schemas/release"
        assert section == "components", ref
        if name in components.get(kind, {}):
            continue
        found = _clean(description["components"][kind][name])
        components.setdefault(kind, {})[name] = found
        todo.extend(_refs(found))
    return {
        "openapi": description["openapi"],
        "info": {},
        "paths": paths,
        "components": {kind: dict(sorted(found.items())) for kind, found in components.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("description", type=Path, help="api.github.com.json")
    parser.add_argument("--source-commit", required=True, help="rest-api-description commit")
    parser.add_argument("--version", required=True, help="the description's info.version")
    parser.add_argument("--date", required=True, help="the date of that description")
    parser.add_argument("--note", default="", help="how the file was obtained")
    args = parser.parse_args(argv)
    description = json.loads(args.description.read_text(encoding="utf-8"))
    cut = subset(description)
    cut["info"] = {
        "title": "GitHub v3 REST API: the operations the release engine uses",
        "version": args.version,
        "x-source": {
            "repository": "https://github.com/github/rest-api-description",
            "path": "descriptions/api.github.com/api.github.com.json",
            "commit": args.source_commit,
            "version": args.version,
            "date": args.date,
            "note": args.note,
            "extracted_by": "tests/engine/openapi/extract.py",
            "operations": [f"{method.upper()} {path}" for method, path in OPERATIONS],
        },
    }
    SUBSET.write_text(json.dumps(cut, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(
        f"{SUBSET}: {len(OPERATIONS)} operations, {sum(map(len, cut['components'].values()))} "
        "components"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
