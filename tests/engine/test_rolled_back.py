"""A rollback is part of the world every run observes; the remote lock is left as it was found;
every failure after a change says how to resume. Rehearsed through the real stand-ins.

The image side of a rollback (the image tag ``rollback-vX.Y.Z`` and the manifests naming it)
is held by tests/engine/test_hotfix_rollback.py and the lifecycle test, which push images.
"""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from release_engine.context import Options
from release_engine.engine import release, rollback, status
from release_engine.errors import ConflictError, ReleaseError
from release_engine.output import ConsoleReporter
from release_engine.plan import Status
from release_engine.rehearsal import rehearsal_context
from release_engine.remote_lock import LOCK_REF, Holder
from release_engine.version import parse_version
from tests.conftest import git
from tests.engine.conftest import AFTER, VERSION, Rehearsal, github_get
from tests.engine.test_remote_lock import plant

pytestmark = pytest.mark.e2e


def world(r: Rehearsal) -> dict[str, Any]:
    """What a run could change: the remote's refs, GitHub's releases and issues, the index,
    the messages and emails."""
    return {
        "refs": git(r.remote, "for-each-ref", "--format=%(refname) %(objectname)"),
        "releases": github_get(r.s, "/releases"),
        # (not the pull requests: each rehearsal context seeds one, as CI would have merged it)
        "issues": [i for i in github_get(r.s, "/issues?state=all") if "pull_request" not in i],
        "index": sorted(p.name for p in r.s.index.packages.iterdir()),
        "messages": len(r.s.slack.received),
        "emails": len(r.s.mail.delivered) if r.s.mail is not None else None,
    }


def dead_lock_of_this_machine(what: str) -> Holder:
    """A lock a run of this machine left when it was killed: its process is gone."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return dataclasses.replace(Holder.me(what), pid=proc.pid, started="1")


def run_in(r: Rehearsal, clone: Path, version: str, **kwargs: Any) -> tuple[Any, str]:
    """``inv release`` (or with *rolling*, ``inv rollback``) from *clone*; its output."""
    out = io.StringIO()
    ctx = rehearsal_context(clone, parse_version(version), r.s, options=Options(date=r.date))
    if kwargs.pop("rolling", False):
        ctx.resume_command = f"inv rollback --version {version}"
        return rollback(ctx, ConsoleReporter(out), **kwargs), out.getvalue()
    return release(ctx, ConsoleReporter(out), **kwargs), out.getvalue()


def test_a_rolled_back_release_never_acts_again_from_any_clone(
    imageless_rehearsal: Rehearsal,
) -> None:
    r = imageless_rehearsal
    r.add_fragment("+first.fixed.md", "Fixed the first thing.")
    r.run(VERSION)
    # A finished rerun that finds a dead run's lock of this machine takes it over, ends it.
    plant(r.work, dead_lock_of_this_machine(f"release v{VERSION}"))
    report, _ = run_in(r, r.work, VERSION)
    assert report.already_released and LOCK_REF not in git(r.remote, "show-ref")

    r.add_fragment("+second.fixed.md", "Fixed the second thing.")
    r.run(AFTER)
    git(r.work, "pull", "-q", "--ff-only", "origin", "main")
    r.rollback(AFTER)

    # --- the root-cause issue: one, labeled, naming what was rolled back ---
    issues = github_get(r.s, "/issues?labels=rollback&state=all")
    assert [i["title"] for i in issues] == [f"Investigate the rollback of v{AFTER}"]
    body = issues[0]["body"]
    revert = git(r.remote, "log", "-1", "--format=%b", f"--grep=^Roll back v{AFTER}", "main")
    start, merge = revert.split("(")[1].split(")")[0].split("..")
    assert f"`{start}..{merge}`" in body and f"v{AFTER} was rolled back to v{VERSION}" in body
    assert "- " + git(r.remote, "log", "-1", "--format=%h %s", f"v{AFTER}") in body
    assert "Fixed the second thing." in body  # the release notes
    pulls = [p["number"] for p in github_get(r.s, "/pulls?state=all")]
    assert any(f"- #{n} " in body for n in pulls)  # the pull request that brought a commit
    told = json.dumps(r.s.slack.received[-1].body)
    assert issues[0]["html_url"] in told  # the rollback's message links it

    # --- status: rolled back, nothing pending, the issue linked ---
    ctx = rehearsal_context(r.work, parse_version(AFTER), r.s)
    rows = status(ctx)
    assert rows[0].status is Status.ROLLED_BACK and rows[0].name == "rolled-back"
    assert f"to v{VERSION}" in rows[0].detail and issues[0]["html_url"] in rows[0].detail
    assert not [o for o in rows if o.status in (Status.PENDING, Status.CONFLICT)]

    # --- the release again, from this clone and from a fresh one: refused, nothing changed ---
    before = world(r)
    fresh = r.work.parent / "fresh"
    git(r.work.parent, "clone", "-q", str(r.remote), str(fresh))
    for clone in (r.work, fresh):
        for dry_run in (False, True):
            with pytest.raises(ConflictError) as refused:
                run_in(r, clone, AFTER, dry_run=dry_run)
            assert refused.value.exit_code == 3
            message = refused.value.message
            assert message.startswith(f"v{AFTER} was rolled back to v{VERSION} (rollback-v{AFTER}")
            assert "inv release --version " in message and "\n" not in message
    assert world(r) == before

    # --- the rollback again, from a fresh clone: no second issue, no lock left behind ---
    git(fresh, "checkout", "-q", "main")
    plant(fresh, dead_lock_of_this_machine(f"rollback v{AFTER}"))
    outcomes, said = run_in(r, fresh, AFTER, rolling=True)
    assert {o.status for o in outcomes} <= {"done", "skipped"}
    assert "temporary worktree" not in said  # a finished rollback left none
    assert len(github_get(r.s, "/issues?labels=rollback&state=all")) == 1
    assert LOCK_REF not in git(r.remote, "show-ref")
    _, said = run_in(r, r.work, AFTER, rolling=True)
    assert "temporary worktree" not in said
    assert world(r) == before

    # --- the rollback tag gone (deleted by hand): GitHub's mark still says rolled back ---
    git(r.work, "push", "-q", "origin", "--delete", f"rollback-v{AFTER}")
    with pytest.raises(ConflictError) as refused:
        run_in(r, fresh, AFTER)
    assert f"(GitHub release v{AFTER} marked (rolled back))" in refused.value.message
    assert refused.value.exit_code == 3


def test_a_failure_after_a_change_says_how_to_resume(imageless_rehearsal: Rehearsal) -> None:
    """The index goes down once the release branch is made: exit 1, with the resume line."""
    r = imageless_rehearsal
    r.add_fragment("+first.fixed.md", "Fixed the first thing.")

    def index_down(step: str) -> None:
        if step == "branch":
            r.s.index.stop()

    with pytest.raises(ReleaseError) as failed:
        r.run(VERSION, after_step=index_down)
    assert failed.value.exit_code == 1
    said = str(failed.value).splitlines()
    assert said[0].startswith("could not reach the package index at ")
    assert said[1] == f"resume with: inv release --version {VERSION} --rehearse"
    assert LOCK_REF not in git(r.remote, "show-ref")  # the lock ends with the run
