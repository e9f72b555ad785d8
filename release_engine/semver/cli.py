"""Evidence from the payload's command line: its commands and options, read from its parser.

Each version's ``build_parser()`` (in the module of the ``[project.scripts]`` entry) is called
in a process of its own (:mod:`.probe`) and walked through argparse's own structures: every
command path (``db upgrade``) with its option strings and positional arguments. A command or
option gone (removed or renamed) breaks scripts that call it, so does a new required argument;
a new command or option is a feature. Help texts and defaults are not compared.
"""

from __future__ import annotations

from pathlib import Path

from .evidence import Finding, Payload
from .probe import MISSING, answer

__all__ = ["QUESTION", "compare", "diff", "surface"]

#: What the probe runs with ``module``, the CLI module, imported: it sets ``answer``.
QUESTION = """
import argparse

def walk(parser, path, out):
    options, required, commands = [], [], {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            commands.update(action.choices)
        elif action.option_strings:
            options += action.option_strings
            if action.required:
                required.append(action.option_strings[0])
        elif action.nargs not in ("?", "*", argparse.SUPPRESS) and action.default is None:
            required.append(action.dest)
    out[" ".join(path)] = {"options": sorted(options), "required": sorted(required)}
    for name, sub in commands.items():
        walk(sub, [*path, name], out)
    return out

builder = getattr(module, "build_parser", None)
if builder is None:
    raise SystemExit(f"{module.__name__} has no build_parser()")
answer = walk(builder(), [], {})
"""


Surface = dict[str, dict[str, list[str]]]


def surface(tree: Path, payload: Payload) -> Surface | None:
    """Every command path of *tree*'s CLI with its options; None when it has no CLI."""
    if payload.cli_module is None:
        return None
    found = answer(tree, payload, "cli")
    return None if found == MISSING else dict(found)


def compare(old: Path, new: Path, payload: Payload) -> list[Finding]:
    """What the CLI lost (breaks) and gained (features) from *old* to *new*."""
    before, after = surface(old, payload), surface(new, payload)
    if before is None:
        return []
    return diff(before, after, payload.file_of(payload.cli_module or payload.package))


def diff(before: Surface, after: Surface | None, where: str) -> list[Finding]:
    """The breaks and features from the command line *before* to *after* (None: gone)."""
    if after is None:
        return [Finding("cli", "break", "the command line was removed", where)]
    found = []
    for path, was in before.items():
        shown = f"'{path}'" if path else "the top level"
        if path not in after:
            found.append(Finding("cli", "break", f"command '{path}' removed or renamed", where))
            continue
        now = after[path]
        for option in sorted(set(was["options"]) - set(now["options"])):
            what = f"option {option} of {shown} removed or renamed"
            found.append(Finding("cli", "break", what, where))
        for argument in sorted(set(now["required"]) - set(was["required"])):
            what = f"{shown} requires a new argument {argument}"
            found.append(Finding("cli", "break", what, where))
    for path, now in after.items():
        if path not in before:
            found.append(Finding("cli", "feature", f"command '{path}' added", where))
        else:
            for option in sorted(set(now["options"]) - set(before[path]["options"])):
                shown = f"'{path}'" if path else "the top level"
                found.append(Finding("cli", "feature", f"option {option} of {shown} added", where))
    return found
