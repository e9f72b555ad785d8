"""Evidence from the changelog fragments waiting in the commit being released.

Keep a Changelog's types say what a change is: ``removed`` is a break; a ``changed`` fragment
whose text starts with ``BREAKING:`` (``inv changelog.add --type changed --breaking``) is a
break; ``added`` and ``deprecated`` are features; ``changed``, ``fixed`` and ``security``
otherwise are fixes, which any version carries. A fragment adds to what the code shows, never
replaces it: a break the code shows is one whatever the fragments say.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..tools.changelog import BREAKING
from .evidence import Finding, Payload

__all__ = ["compare", "is_breaking"]
_NAME = re.compile(r"^(?:\+[\w.-]+?|\d+)\.(?P<type>[a-z]+)(?:\.\d+)?\.md$")
_FEATURES = ("added", "deprecated")


def is_breaking(text: str) -> bool:
    """Whether a fragment's *text* is marked breaking (``BREAKING:`` leading it)."""
    return text.lstrip().upper().startswith(BREAKING)


def compare(old: Path, new: Path, payload: Payload) -> list[Finding]:
    """The fragments waiting in *new*, but for those *old* holds too: a release consumes its
    fragments, so one still there at the tag was there when it was judged."""
    directory = new / payload.fragments_dir
    released = {p.name for p in (old / payload.fragments_dir).glob("*.md")}
    found = []
    for path in sorted(directory.glob("*.md")) if directory.is_dir() else []:
        match = _NAME.match(path.name)
        if match is None or path.name in released:
            continue
        kind, where = match["type"], f"{payload.fragments_dir}/{path.name}"
        text = " ".join(path.read_text(encoding="utf-8").split())
        shown = text if len(text) <= 70 else text[:69] + "…"
        if kind == "removed" or (kind == "changed" and is_breaking(text)):
            found.append(Finding("fragments", "break", f"{kind}: {shown}", where))
        elif kind in _FEATURES:
            found.append(Finding("fragments", "feature", f"{kind}: {shown}", where))
    return found
