"""invoke's own parse errors are bad input like any other: exit 2, one line, a suggestion."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from release_engine.usage import bad_input_line
from tests.conftest import copy_tree, make_repo


def inv(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["inv", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository of its own: this checkout may be written by a session running beside
    (``nox -s prerelease`` runs two lanes), so "changes nothing" is asserted where only the
    command under test runs."""
    return make_repo(tmp_path_factory.mktemp("usage") / "repo")


def files(tree: Path) -> list[str]:
    """Every path under *tree*, bytecode aside (the interpreter's, not the command's)."""
    return sorted(str(p.relative_to(tree)) for p in tree.rglob("*") if "__pycache__" not in p.parts)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ("release", "--rehears"),
            "error: there is no flag --rehears for 'inv release': did you mean --rehearse? "
            "(see inv --help release)",
        ),
        (
            ("rollback", "--version", "1.2.3", "--dryrun"),
            "error: there is no flag --dryrun for 'inv rollback': did you mean --dry-run? "
            "(see inv --help rollback)",
        ),
        (
            ("changelog.add", "--tpye", "fixed"),
            "error: there is no flag --tpye for 'inv changelog.add': did you mean --type? "
            "(see inv --help changelog.add)",
        ),
        (
            ("relase", "--version", "1.2.3"),
            "error: there is no task 'relase': did you mean release?",
        ),
        (("release", "--version"), "error: --version needs a value: see inv --help release"),
        (("hotfix", "--from"), "error: --from needs a value: see inv --help hotfix"),
        (("release.status", "--frobnicate"), "error: there is no flag --frobnicate for"),
    ],
)
def test_a_mistyped_command_line_is_bad_input_with_the_closest_name(
    clone: Path, args: tuple[str, ...], line: str
) -> None:
    before = files(clone)
    proc = inv(*args, cwd=clone)
    assert proc.returncode == 2, proc.stderr  # invoke alone: 1, which means "failed midway"
    assert proc.stderr.startswith(line), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "No idea what" not in proc.stderr and "Traceback" not in proc.stderr
    assert files(clone) == before


def test_no_suggestion_when_nothing_is_close() -> None:
    line = bad_input_line("No idea what '--zzzzzz' is!", "release", ["--rehearse", "-n"], [])
    assert line == "error: there is no flag --zzzzzz for 'inv release': see inv --help release"


def test_any_other_parse_error_keeps_invokes_words_and_points_at_the_help() -> None:
    line = bad_input_line("Flag '--json' doesn't take any value!", "release", [], [])
    assert line == "error: Flag '--json' doesn't take any value: see inv --help release"


@pytest.mark.parametrize(
    "args",
    [
        ("release", "--rehearse"),
        ("release", "--version", "1.2.3"),
        ("release.status",),
        ("changelog.check",),
        ("hotfix", "--from", "v0.1.0"),
        ("rollback", "--version", "0.1.0"),
    ],
)
def test_outside_a_git_repository_each_task_says_so_in_one_line(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    tree = copy_tree(tmp_path / "unpacked")  # an unpacked sdist: the files, no .git
    proc = inv(*args, cwd=tree)
    assert proc.returncode == 3, proc.stderr
    assert (
        proc.stderr.strip()
        == (f"error: {tree} is not a git repository: run this in a clone of the project")
        or proc.stderr.strip() == f"error: {tree} is not a git repository: release from a clone"
    )
    assert "fatal:" not in proc.stderr
