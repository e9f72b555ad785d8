"""Hotfix and rollback, exactly as RELEASE_PROCESS.md describes them, through the stand-ins."""

from __future__ import annotations

import json
import urllib.request

import pytest

from release_engine.cli import hotfix_command, rollback_command
from release_engine.errors import PreflightError, UsageError
from release_engine.redact import Secrets
from release_engine.steps.hotfix import plan_hotfix
from tests.conftest import git
from tests.engine.conftest import Rehearsal, github_get, registry_of

pytestmark = pytest.mark.e2e


def add_fix(r: Rehearsal, name: str, text: str) -> None:
    (r.work / "changelog.d" / f"+{name}.fixed.md").write_text(text + "\n")
    git(r.work, "add", "--all")
    git(r.work, "commit", "-qm", text)


def test_hotfix_of_an_old_line_then_rollback(rehearsal: Rehearsal) -> None:
    r = rehearsal
    r.run("0.2.0")
    add_fix(r, "second", "Fixed the second thing.")
    git(r.work, "push", "-q", "origin", "main")
    r.run("0.3.0")

    # --- hotfix: branch from the old tag, fix, release; latest never moves ---
    with pytest.raises(UsageError):
        plan_hotfix(r.work, "0.2.0")
    with pytest.raises(PreflightError, match=r"tag v0\.2\.9 does not exist"):
        plan_hotfix(r.work, "v0.2.9")
    hotfix_command(r.work, "v0.2.0")
    assert git(r.work, "rev-parse", "--abbrev-ref", "HEAD") == "hotfix/v0.2.1"
    add_fix(r, "hot", "Fixed a critical bug in 0.2.")
    report = r.run("0.2.1")
    steps = {o.name: o.status for o in report.steps}
    assert steps["deploy-manifests"] == "skipped"
    remote = r.remote
    assert git(remote, "merge-base", "--is-ancestor", "v0.2.1", "hotfix/v0.2.1") == ""
    assert "0.2.1" not in git(remote, "show", "main:src/market_data_ingestion/__init__.py")
    assert "market-data-ingestion:v0.3.0" in git(remote, "show", "main:deploy/k8s/deployment.yaml")
    releases = {rel["tag_name"]: rel for rel in github_get(r.s, "/releases")}
    assert set(releases) == {"v0.2.0", "v0.3.0", "v0.2.1"}
    assert "Fixed a critical bug in 0.2." in releases["v0.2.1"]["body"]
    request = urllib.request.Request(
        f"{r.s.github.url}/repos/{r.s.github.repository}/releases/latest",
        headers={"Authorization": f"Bearer {r.s.github.token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read())["tag_name"] == "v0.3.0"
    if r.s.registry is not None:
        with registry_of(r) as registry:
            assert registry.digest("latest") == registry.digest("v0.3.0")
            assert registry.digest("v0.2.1") is not None

    # --- rollback of 0.3.0: revert its merge on main, tag the commit before, redeploy 0.2.0 ---
    git(r.work, "checkout", "-q", "main")
    git(r.work, "pull", "-q", "--ff-only", "origin", "main")
    rollback_command(r.work, "0.3.0", secrets=Secrets(), dry_run=True)
    assert "rollback-v0.3.0" not in git(remote, "tag", "--list")
    rollback_command(r.work, "0.3.0", secrets=Secrets())
    assert '__version__ = "0.2.0"' in git(
        remote, "show", "main:src/market_data_ingestion/__init__.py"
    )
    merge = git(remote, "log", "--merges", "--format=%H %s", "main").splitlines()
    merge_sha = next(line.split()[0] for line in merge if "release/v0.3.0" in line)
    assert git(remote, "rev-parse", "rollback-v0.3.0^{commit}") == git(
        remote, "rev-parse", f"{merge_sha}^1"
    )
    assert (
        git(remote, "tag", "-l", "--format=%(contents:subject)", "rollback-v0.3.0")
        == "Rollback of v0.3.0 to v0.2.0"
    )
    if r.s.registry is not None:
        assert "market-data-ingestion:v0.2.0" in git(
            remote, "show", "main:deploy/k8s/deployment.yaml"
        )
    assert git(remote, "cat-file", "-t", "v0.3.0") == "tag"  # the release stays on record
    # Running it again finds everything done and changes nothing.
    head = git(remote, "rev-parse", "main")
    rollback_command(r.work, "0.3.0", secrets=Secrets())
    assert git(remote, "rev-parse", "main") == head
