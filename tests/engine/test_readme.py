"""README.md's two commands stay true: CI runs the second; the first names a valid release."""

from __future__ import annotations

import re
import shlex

from release_engine.cadence import suggested_release
from release_engine.config import load_config
from release_engine.version import parse_current_version, parse_version
from tests.conftest import REPO


def readme_commands() -> list[str]:
    """The command lines of README's 'Two commands' block, comments left out."""
    text = (REPO / "README.md").read_text()
    block = re.search(r"## Two commands.*?```bash\n(.*?)```", text, re.S)
    assert block, "README.md lost its 'Two commands' block"
    return [ln for ln in block.group(1).splitlines() if ln.strip() and not ln.startswith("#")]


def rehearsal_argv() -> list[str]:
    """The ``inv release … --rehearse`` part of README's first command."""
    first = readme_commands()[0]
    return shlex.split(first.split("&&")[-1])


def test_readme_has_exactly_two_commands() -> None:
    commands = readme_commands()
    assert len(commands) == 2
    assert "--rehearse" in commands[0]


def test_ci_runs_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert readme_commands()[1] in ci


def test_readme_rehearses_a_version_above_the_current_one() -> None:
    """After any release too: the command names no version (the next one is rehearsed), or
    one above the project's."""
    argv = rehearsal_argv()
    assert argv[:2] == ["inv", "release"]
    config = load_config(REPO)
    current = parse_current_version(config.current_version)
    if "--version" in argv:
        version = parse_version(argv[argv.index("--version") + 1])
    else:
        version, _ = suggested_release(REPO, current, config.tag_prefix)
    assert version > current
