"""The reliability session's own judges can say no: a case fails on each of its columns, two
end states that differ are named, a publication made twice is counted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import git
from tests.reliability.report import Case, summary, table
from tests.reliability.state import Publications, compare, lock_left


@pytest.mark.parametrize(
    "broken",
    [
        {"converged": False},
        {"equal": False},
        {"doubled": 1},
        {"side_effects": 1},
        {"leaks": 1},
        {"problems": ["why"]},
    ],
)
def test_a_case_fails_on_any_column(broken: dict[str, object]) -> None:
    good = Case("scenario", 3, converged=True, equal=True)
    fields: dict[str, object] = {"converged": True, "equal": True, **broken}
    bad = Case("scenario", 3, **fields)  # type: ignore[arg-type]
    assert good.passed and not bad.passed
    shown = table([good, bad])
    assert shown.count("FAIL") == 1 and "failures:" in shown
    assert summary([good, bad]) == "reliability: 1 passed, 1 failed"


def test_columns_that_do_not_apply_do_not_fail() -> None:
    assert Case("bad input", 118).passed  # converged and equal: not asked (None)
    assert "-" in table([Case("bad input", 118)])


def test_end_states_that_differ_are_named() -> None:
    a = {"refs": ["main"], "records": {"r/notify": "notified <webhook>"}, "index": ["a.whl"]}
    b = {"refs": ["main"], "records": {"r/notify": "notified nobody"}, "index": []}
    assert compare(a, a) == []
    found = compare(a, b)
    assert found[0] == "index: ['a.whl'] != []" and found[1] == "records: r/notify"


def test_a_publication_made_twice_is_counted() -> None:
    once = Publications(max_stores=1, release_creations=1, notifications=1, emails=1)
    assert once.doubled(once) == []
    twice = Publications(max_stores=2, release_creations=2, notifications=2, emails=1)
    assert twice.doubled(once) == [
        "a file stored 2 times",
        "2 release creations (uninterrupted: 1)",
        "2 notifications (uninterrupted: 1)",
    ]


def test_a_lock_left_on_the_remote_is_named(tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    assert lock_left(remote) == []
    empty_tree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git knows it in every repository
    sha = git(remote, "commit-tree", empty_tree, "-m", "release lock")
    git(remote, "update-ref", "refs/release/lock", sha)
    assert lock_left(remote) == ["the remote lock refs/release/lock is left on the remote"]
