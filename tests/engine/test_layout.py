"""The package's layout, as issue #18 wants it: one outside system, one place.

Every file of ``release_engine`` that names a system's tool or library (case-insensitive, as
``grep -ril`` reads it) is that system's package under ``release_engine/remotes/`` or its
rehearsal stand-in; no module is over 400 lines and no function over 60 (house style); each
module of a remote imports on its own, in a fresh interpreter.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "release_engine"

#: word -> (the system's package, its stand-ins): the only files whose text may name the word.
HOMES: dict[str, tuple[str, tuple[str, ...]]] = {
    "slack": ("remotes/slack.py", ("standins/sink.py",)),
    "smtp": ("remotes/mail.py", ("standins/smtp.py",)),
    "discord": ("remotes/discord.py", ("standins/discord.py",)),
    "mastodon": ("remotes/mastodon.py", ("standins/mastodon.py",)),
    "skopeo": (
        "remotes/registry",
        ("standins/registry.py", "standins/registry_proxy.py", "standins/token_auth.py"),
    ),
    "twine": ("remotes/index", ("standins/pypi.py", "standins/oidc.py")),
    "pygithub": ("remotes/github", ("standins/github_*.py",)),
}

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
TOO_LONG_MODULES_FOR_NOW: set[str] = set()
TOO_LONG_FUNCTIONS_FOR_NOW: set[str] = set()


def astray(root: Path, word: str) -> list[str]:
    """The files under *root* that name *word* outside its system's package and stand-ins."""
    home, standins = HOMES[word]
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if word not in path.read_text(encoding="utf-8").lower():
            continue
        if not (relative.is_relative_to(home) or any(relative.match(s) for s in standins)):
            found.append(relative.as_posix())
    return found


def too_long(root: Path) -> tuple[dict[str, int], dict[str, int]]:
    """The modules over 400 lines and the functions over 60 under *root*, with their lengths."""
    modules, functions = {}, {}
    for path in sorted(root.rglob("*.py")):
        text, relative = path.read_text(encoding="utf-8"), path.relative_to(root).as_posix()
        if (lines := len(text.splitlines())) > MAX_MODULE_LINES:
            modules[relative] = lines
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    functions[f"{relative}::{node.name}"] = lines
    return modules, functions


@pytest.mark.parametrize("word", sorted(HOMES))
def test_a_system_is_named_only_by_its_package_and_its_standin(word: str) -> None:
    assert (PACKAGE / HOMES[word][0]).exists()
    assert astray(PACKAGE, word) == []


def test_a_word_out_of_its_place_is_found(tmp_path: Path) -> None:
    for name, text in {
        "remotes/index/commands.py": "TWINE = 'twine'",
        "standins/pypi.py": "# where twine uploads",
        "steps/publish.py": '"""checked by ``Twine check``"""',
        "remotes/registry/client.py": "# not twine's",
        "remotes/indexes.py": "# twine",  # a sibling that only starts like the package
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text + "\n", encoding="utf-8")
    assert astray(tmp_path, "twine") == [
        "remotes/indexes.py",
        "remotes/registry/client.py",
        "steps/publish.py",
    ]


def test_no_module_over_400_lines_no_function_over_60() -> None:
    modules, functions = too_long(PACKAGE)
    assert set(modules) <= TOO_LONG_MODULES_FOR_NOW, modules
    assert set(functions) <= TOO_LONG_FUNCTIONS_FOR_NOW, functions


def test_a_long_module_and_a_long_method_are_found(tmp_path: Path) -> None:
    body = "".join(f"    x{n} = {n}\n" for n in range(60))
    (tmp_path / "long.py").write_text(
        "\n" * 400 + "class C:\n    def m(self):\n" + body.replace("    ", "        ")
    )
    (tmp_path / "short.py").write_text("def f():\n" + body[: -len("    x59 = 59\n")])
    modules, functions = too_long(tmp_path)
    assert modules == {"long.py": 462}
    assert functions == {"long.py::m": 61}


def test_every_module_of_a_remote_imports_on_its_own() -> None:
    """First, before anything else of the engine: no cycle through ``release_engine.steps``,
    which imports the remotes' steps. One interpreter, the engine's modules forgotten before
    each import (the libraries stay loaded: that keeps it cheap)."""
    names = [
        ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        for path in sorted((PACKAGE / "remotes").rglob("*.py"))
    ]
    code = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]:\n"
        "    for loaded in [m for m in sys.modules if m.startswith('release_engine')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError as exc:\n"
        "        print(name, exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *names], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert len(names) > 20
    assert done.stdout == "", done.stdout
