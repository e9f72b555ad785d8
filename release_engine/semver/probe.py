"""Ask the payload of one exported tree about itself, in a process of its own.

The CLI and HTTP sources import the payload to ask it (its parser, its OpenAPI document): each
version is imported in its own interpreter, with the exported tree's source directory first on
``sys.path``, so the two versions never mix and nothing of the payload is imported here. One
process per tree answers every question (:data:`QUESTIONS`): importing the payload is most of
its cost, paid once. Each answer is JSON; a module the tree does not have answers
:data:`MISSING`. The module imported must come from the exported tree (an installed copy found
first would answer for the wrong version), which the probe checks. A tree's answers depend on
its content, the guard's code and the interpreter asking: once every question is answered
they are remembered beside the evidence (a released tree is then asked once, ever).
"""

from __future__ import annotations

import json
import sys
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from ..proc import in_background, read
from .evidence import Payload, SourceUnread

__all__ = ["MISSING", "answer", "forget", "start"]

#: What a probe answers when the tree has no such module: nothing to compare there.
MISSING = {"missing": True}

_FRAME = """
import importlib, json, sys
sys.path.insert(0, {src!r})
answers = {{}}
for key, (name, body) in {questions!r}.items():
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.startswith(exc.name):
            answers[key] = {{"missing": True}}
            continue
        answers[key] = {{"error": f"{{type(exc).__name__}}: {{exc}}"}}
        continue
    except Exception as exc:
        answers[key] = {{"error": f"{{type(exc).__name__}}: {{exc}}"}}
        continue
    if not str(module.__file__).startswith({src!r}):
        answers[key] = {{"error": f"{{module.__file__}} is not from the exported tree"}}
        continue
    scope = {{"module": module}}
    try:
        exec(body, scope)
        answers[key] = {{"answer": scope["answer"]}}
    except BaseException as exc:
        answers[key] = {{"error": f"{{type(exc).__name__}}: {{exc}}"}}
print(json.dumps(answers))
"""
_running: dict[tuple[Path, Payload], Future[dict[str, Any]]] = {}
_lock = threading.Lock()


def _questions(payload: Payload) -> dict[str, tuple[str, str]]:
    from . import cli, http

    asked = {"http": (payload.http_module, http.QUESTION)}
    if payload.cli_module is not None:
        asked["cli"] = (payload.cli_module, cli.QUESTION)
    return asked


def _ask(tree: Path, payload: Payload, remembered: Path | None) -> dict[str, Any]:
    if remembered is not None and remembered.is_file():
        known: dict[str, Any] = json.loads(remembered.read_text(encoding="utf-8"))
        return known
    src = tree / payload.src if payload.src else tree
    code = _FRAME.format(src=str(src.resolve()), questions=_questions(payload))
    proc = read([sys.executable, "-c", code], cwd=tree, timeout=300)
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        why = lines[-1].strip() if lines else f"exit code {proc.returncode}"
        raise SourceUnread(f"the payload of {tree.name} could not be asked ({why})")
    answers: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if remembered is not None and not any("error" in a for a in answers.values()):
        remembered.parent.mkdir(parents=True, exist_ok=True)
        remembered.write_text(json.dumps(answers), encoding="utf-8")
    return answers


def start(tree: Path, payload: Payload, remembered: Path | None = None) -> Future[dict[str, Any]]:
    """The answers of *tree*'s payload, asked once (in the background) however often asked;
    read from, or else written to, the file *remembered* when one is given."""
    with _lock:
        key = (tree.resolve(), payload)
        if key not in _running:
            _running[key] = in_background(_ask, tree, payload, remembered)
        return _running[key]


def answer(tree: Path, payload: Payload, key: str) -> Any:
    """The answer to question *key* (``cli``, ``http``) in *tree*: JSON, or :data:`MISSING`.
    A question the payload could not answer raises :class:`SourceUnread`."""
    found = start(tree, payload).result().get(key, MISSING)
    if "error" in found:
        raise SourceUnread(f"{key} of {tree.name}: {found['error']}")
    return MISSING if found == MISSING else found["answer"]


def forget(*trees: Path) -> None:
    """Drop what *trees* answered (their directories are about to go)."""
    with _lock:
        for key in [k for k in _running if k[0] in {t.resolve() for t in trees}]:
            del _running[key]
