"""Hotfix and rollback, exactly as the release process (docs/RELEASING.md) describes them,
through the stand-ins."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request

import pytest

from release_engine.cli import hotfix_command
from release_engine.errors import PreflightError, UsageError
from release_engine.steps.hotfix import plan_hotfix
from tests.conftest import git
from tests.engine.conftest import (
    AFTER,
    HOTFIX,
    VERSION,
    Rehearsal,
    github_get,
    registry_of,
    standin_settings,
)
from tests.engine.test_task_json import valid_report

pytestmark = pytest.mark.e2e


def add_fix(r: Rehearsal, name: str, text: str) -> None:
    (r.work / "changelog.d" / f"+{name}.fixed.md").write_text(text + "\n")
    git(r.work, "add", "--all")
    git(r.work, "commit", "-qm", text)


def test_hotfix_of_an_old_line_then_rollback(rehearsal: Rehearsal) -> None:
    r = rehearsal
    r.run(VERSION)
    add_fix(r, "second", "Fixed the second thing.")
    git(r.work, "push", "-q", "origin", "main")
    r.run(AFTER)

    # --- hotfix: branch from the old tag, fix, release; latest never moves ---
    with pytest.raises(UsageError):
        plan_hotfix(r.work, f"release-{VERSION}")
    missing = f"v{VERSION.rsplit('.', 1)[0]}.99"  # a patch of the line never released
    with pytest.raises(PreflightError, match=rf"tag {re.escape(missing)} does not exist"):
        plan_hotfix(r.work, missing)
    hotfix_command(r.work, f"v{VERSION}")
    assert git(r.work, "rev-parse", "--abbrev-ref", "HEAD") == f"hotfix/v{HOTFIX}"
    add_fix(r, "hot", f"Fixed a critical bug in {VERSION}.")
    report = r.run(HOTFIX)
    steps = {o.name: o.status for o in report.steps}
    assert steps["deploy-manifests"] == "skipped"
    remote = r.remote
    assert git(remote, "merge-base", "--is-ancestor", f"v{HOTFIX}", f"hotfix/v{HOTFIX}") == ""
    assert HOTFIX not in git(remote, "show", "main:src/market_data_ingestion/__init__.py")
    assert f"market-data-ingestion:v{AFTER}" in git(
        remote, "show", "main:deploy/k8s/deployment.yaml"
    )
    releases = {rel["tag_name"]: rel for rel in github_get(r.s, "/releases")}
    assert set(releases) == {f"v{VERSION}", f"v{AFTER}", f"v{HOTFIX}"}
    assert f"Fixed a critical bug in {VERSION}." in releases[f"v{HOTFIX}"]["body"]
    request = urllib.request.Request(
        f"{r.s.github.url}/repos/{r.s.github.repository}/releases/latest",
        headers={"Authorization": f"Bearer {r.s.github.token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read())["tag_name"] == f"v{AFTER}"
    if r.s.registry is not None:
        with registry_of(r) as registry:
            assert registry.digest("latest") == registry.digest(f"v{AFTER}")
            assert registry.digest(f"v{HOTFIX}") is not None

    # --- rollback of AFTER: to the newest release below it, which is the hotfix ---
    git(r.work, "checkout", "-q", "main")
    git(r.work, "pull", "-q", "--ff-only", "origin", "main")
    r.rollback(AFTER, dry_run=True)
    assert f"rollback-v{AFTER}" not in git(remote, "tag", "--list")
    r.rollback(AFTER)
    # The version never goes back; the code AFTER brought does, the hotfix's fix stays.
    assert f'__version__ = "{AFTER}"' in git(
        remote, "show", "main:src/market_data_ingestion/__init__.py"
    )
    assert git(remote, "rev-parse", f"rollback-v{AFTER}^{{commit}}") == git(
        remote, "rev-parse", f"v{HOTFIX}^{{commit}}"
    )
    assert (
        git(remote, "tag", "-l", "--format=%(contents:subject)", f"rollback-v{AFTER}")
        == f"Rollback of v{AFTER} to v{HOTFIX}"
    )
    if r.s.registry is not None:  # deployed under the rollback tag: the hotfix's image
        assert f"market-data-ingestion:rollback-v{AFTER}" in git(
            remote, "show", "main:deploy/k8s/deployment.yaml"
        )
        with registry_of(r) as registry:
            assert registry.digest(f"rollback-v{AFTER}") == registry.digest(f"v{HOTFIX}")
            assert registry.digest("latest") == registry.digest(f"v{HOTFIX}")
    assert git(remote, "cat-file", "-t", f"v{AFTER}") == "tag"  # the release stays on record
    # Running it again finds everything done and changes nothing; --json says so, by schema.
    head = git(remote, "rev-parse", "main")
    r.rollback(AFTER)
    assert git(remote, "rev-parse", "main") == head
    env, flags = standin_settings(r.s)
    proc = subprocess.run(
        ["inv", "rollback", "--version", AFTER, "--json", *flags],
        cwd=r.work, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = valid_report("rollback", proc.stdout)
    assert report["ok"] is True and report["tag"] == f"v{AFTER}" and report["steps"]
    assert git(remote, "rev-parse", "main") == head
