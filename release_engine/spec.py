"""One ``[tool.release]`` setting's type, default and words: what the engine's core and each
remote (:mod:`release_engine.remotes`) declare of their settings, and
:mod:`.settings_schema` checks and publishes."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Spec", "path", "url"]

_URL = r"https?://[^\s/?#]+(?:/\S*)?"
_PATH = r"(?!/)(?!.*(?:^|/)\.\.(?:/|$))[^\s\\]+"


@dataclass(frozen=True)
class Spec:
    """One setting: its type (``str``, ``bool``, ``int``, ``list``: of strings), its default,
    the values or the pattern it must match, and the words that say what to write instead."""

    kind: str
    meaning: str
    default: object = None  # None: required (package); a list's default is a tuple
    choices: tuple[str, ...] = ()
    pattern: str = ""
    hint: str = ""
    minimum: int | None = None
    maximum: int | None = None
    settable: bool = True  # by --set; package alone names the project, not where it goes


def url(meaning: str, *, default: str = "", optional: bool = True) -> Spec:
    pattern = f"({_URL})?" if optional else _URL
    return Spec("str", meaning, default, pattern=pattern,
                hint="use an http(s) URL such as https://api.github.com")  # fmt: skip


def path(kind: str, meaning: str, default: object) -> Spec:
    return Spec(kind, meaning, default, pattern=_PATH,
                hint="use a path relative to the repository's top, such as docs/")  # fmt: skip
