"""The GitHub workflows stay hardened: zizmor finds nothing of medium severity or more, every
action is pinned to a commit with its version beside it, no ``run:`` holds a ``${{ }}``
expression, tokens get only what each job needs, and both files are valid workflows.

Every check is a function over a workflow; ``test_each_check_fires_on_a_bad_workflow`` feeds
them a deliberately bad one, so none of them can pass by never looking.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

WORKFLOWS = REPO / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
RELEASE = WORKFLOWS / "release.yml"
#: ``uses: owner/repo[/path]@<40 hex> # vX.Y.Z``, as written in a step or a job.
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} +# v\d+\.\d+\.\d+$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>.+?)\s*$", re.M)
SEVERE = {"medium", "high"}


def load(path: Path) -> dict[str, Any]:
    workflow = yaml.safe_load(path.read_text())
    assert isinstance(workflow, dict), f"{path}: not a workflow"
    return workflow


def jobs(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(workflow.get("jobs") or {})


def steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, step) for name, job in jobs(workflow).items() for step in job.get("steps", [])]


def zizmor() -> str:
    """The zizmor command of this environment (a binary; the PyPI package has no module)."""
    here = Path(sysconfig.get_path("scripts")) / "zizmor"
    found = str(here) if here.exists() else shutil.which("zizmor")
    if found is None:
        pytest.skip("zizmor is not installed: pip install --group test (nox -s tests has it)")
    return found


# --- the checks ----------------------------------------------------------------------------


def zizmor_findings(*paths: Path) -> list[str]:
    """``zizmor --offline`` findings of medium or high severity, one line each."""
    argv = [zizmor(), "--offline", "--format", "json", "--min-severity", "medium"]
    done = subprocess.run(
        [*argv, *map(str, paths)], capture_output=True, text=True, timeout=120, check=False
    )
    # 0: no findings; 10-14: findings, by their highest severity; anything else: zizmor failed.
    assert done.returncode == 0 or 10 <= done.returncode <= 14, done.stderr
    found = []
    for finding in json.loads(done.stdout or "[]"):
        severity = finding["determinations"]["severity"].lower()
        if finding.get("ignored") or severity not in SEVERE:
            continue
        where = finding["locations"][0]
        path = where["symbolic"]["key"]["Local"]["verbatim_path"]
        row = where["concrete"]["location"]["start_point"]["row"] + 1
        found.append(f"{path}:{row}: {finding['ident']} ({severity}): {finding['desc']}")
    return found


def unpinned_uses(text: str) -> list[str]:
    """Every ``uses:`` not pinned to a full commit SHA with a ``# vX.Y.Z`` comment."""
    refs = [m.group("ref") for m in USES_LINE.finditer(text)]
    workflow = yaml.safe_load(text)
    parsed = [step["uses"] for _, step in steps(workflow) if "uses" in step]
    parsed += [job["uses"] for job in jobs(workflow).values() if "uses" in job]
    problems = [f"uses: {ref}" for ref in refs if not PINNED.match(ref)]
    if len(refs) != len(parsed):  # a `uses:` this line-based check cannot see (flow style)
        problems.append(f"{len(parsed)} uses in the workflow, {len(refs)} on a line of their own")
    return problems


def expressions_in_run(workflow: dict[str, Any]) -> list[str]:
    """Steps whose ``run:`` holds ``${{``: values must reach the shell through ``env:``."""
    return [
        f"{job}: {step.get('name') or step['run'].splitlines()[0]}"
        for job, step in steps(workflow)
        if "${{" in str(step.get("run", ""))
    ]


def credential_problems(workflow: dict[str, Any]) -> list[str]:
    """Checkouts that leave the token in .git/config (zizmor's artipacked)."""
    return [
        f"{job}: {step['uses']} without persist-credentials: false"
        for job, step in steps(workflow)
        if str(step.get("uses", "")).startswith("actions/checkout@")
        and (step.get("with") or {}).get("persist-credentials") is not False
    ]


def permission_problems(workflow: dict[str, Any]) -> list[str]:
    """No permission at the top; every job says what its token may do."""
    problems = []
    if workflow.get("permissions", "missing") != {}:
        problems.append(f"top-level permissions are {workflow.get('permissions')!r}, not {{}}")
    problems += [f"{name}: no permissions" for name, job in jobs(workflow).items()
                 if "permissions" not in job]  # fmt: skip
    return problems


def release_problems(workflow: dict[str, Any]) -> list[str]:
    """What release.yml promises: a version input, one release at a time, a person approves,
    and only the release job may mint an OIDC token."""
    problems = []
    on = workflow.get("on", workflow.get(True)) or {}  # YAML 1.1 reads a bare `on` as True
    version = ((on.get("workflow_dispatch") or {}).get("inputs") or {}).get("version") or {}
    if not (version.get("required") is True and version.get("type") == "string"):
        problems.append("workflow_dispatch needs a required string input `version`")
    if workflow.get("concurrency") != {"group": "release", "cancel-in-progress": False}:
        problems.append(f"concurrency is {workflow.get('concurrency')!r}")
    release = jobs(workflow).get("release", {})
    environment = release.get("environment")
    if isinstance(environment, dict):
        environment = environment.get("name")
    if environment != "release":
        problems.append("the release job does not run in the `release` environment")
    if "check" not in str(release.get("needs", "")):
        problems.append("the release job does not need the check job")
    if (workflow.get("permissions") or {}) != {}:
        problems.append("permissions at the top level")
    minting = [n for n, job in jobs(workflow).items()
               if (job.get("permissions") or {}).get("id-token") == "write"]  # fmt: skip
    if minting != ["release"]:
        problems.append(f"id-token: write in {minting or 'no job'}, not in the release job only")
    for name, want in {
        "contents": "write",
        "packages": "write",
        "id-token": "write",
        "attestations": "write",
    }.items():
        if (release.get("permissions") or {}).get(name) != want:
            problems.append(f"the release job needs {name}: {want}")
    return problems


def schema_problems(*paths: Path) -> list[str]:
    """check-jsonschema against the GitHub workflow schema it vendors (no network)."""
    argv = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows"]
    pytest.importorskip("check_jsonschema", reason="pip install --group test has it")
    done = subprocess.run(
        [*argv, *map(str, paths)], capture_output=True, text=True, timeout=120, check=False
    )
    return [] if done.returncode == 0 else [(done.stdout + done.stderr).strip()]


# --- this repository's workflows -----------------------------------------------------------


def test_zizmor_finds_nothing_of_medium_severity_or_more() -> None:
    assert zizmor_findings(WORKFLOWS) == []


@pytest.mark.parametrize("path", [CI, RELEASE], ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_with_its_version(path: Path) -> None:
    assert unpinned_uses(path.read_text()) == []


@pytest.mark.parametrize("path", [CI, RELEASE], ids=lambda p: p.name)
def test_no_expression_inside_a_run_block(path: Path) -> None:
    assert expressions_in_run(load(path)) == []


@pytest.mark.parametrize("path", [CI, RELEASE], ids=lambda p: p.name)
def test_checkout_keeps_no_credentials(path: Path) -> None:
    assert credential_problems(load(path)) == []


@pytest.mark.parametrize("path", [CI, RELEASE], ids=lambda p: p.name)
def test_tokens_get_only_what_each_job_asks_for(path: Path) -> None:
    assert permission_problems(load(path)) == []


def test_the_release_workflow_is_approved_serial_and_alone_with_oidc() -> None:
    assert release_problems(load(RELEASE)) == []


def test_the_workflows_are_valid_for_github() -> None:
    assert schema_problems(CI, RELEASE) == []


def test_ci_keeps_its_jobs_and_its_matrix() -> None:
    """Branch protection names these jobs; the matrix comes from nox, the label from the PR."""
    ci = load(CI)
    assert set(jobs(ci)) == {"changelog", "sessions", "build", "session", "green"}
    assert "nox -l --json" in str(ci)
    assert "skip-changelog" in str(ci)


# --- and each check fires --------------------------------------------------------------------

BAD = """\
name: bad
on:
  issues:
permissions: write-all
jobs:
  check:
    runs-on: ubuntu-latest
    permissions:
      id-token: write
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065
      - {uses: actions/cache@v4}
      - run: echo "${{ github.event.issue.title }}"
  release:
    runs-on: ubuntu-latest
    steps: []
"""
#: Not a workflow GitHub would run: `steps` is a list (zizmor refuses to read it at all).
INVALID = BAD.replace("steps: []", "steps: oops")


def test_each_check_fires_on_a_bad_workflow(tmp_path: Path) -> None:
    path = tmp_path / ".github" / "workflows" / "bad.yml"
    path.parent.mkdir(parents=True)
    path.write_text(BAD)
    invalid = path.with_name("invalid.yml")
    invalid.write_text(INVALID)
    workflow = yaml.safe_load(BAD)

    idents = {line.split(": ")[1].split(" ")[0] for line in zizmor_findings(path)}
    assert {"template-injection", "artipacked", "excessive-permissions"} <= idents, idents
    assert unpinned_uses(BAD) == [
        "uses: actions/checkout@v4",
        "uses: actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065",
        "3 uses in the workflow, 2 on a line of their own",
    ]
    assert expressions_in_run(workflow) == ['check: echo "${{ github.event.issue.title }}"']
    assert credential_problems(workflow) == [
        "check: actions/checkout@v4 without persist-credentials: false"
    ]
    assert permission_problems(workflow) == [
        "top-level permissions are 'write-all', not {}",
        "release: no permissions",
    ]
    problems = release_problems(workflow)
    assert any("input `version`" in p for p in problems), problems
    assert any(p.startswith("concurrency") for p in problems), problems
    assert any("`release` environment" in p for p in problems), problems
    assert any("need the check job" in p for p in problems), problems
    assert "permissions at the top level" in problems
    assert "id-token: write in ['check'], not in the release job only" in problems
    assert "the release job needs attestations: write" in problems
    assert schema_problems(invalid) != []


# --- build, then attest, then publish (issue #22) --------------------------------------------


def split_problems(workflow: dict[str, Any]) -> list[str]:
    """release.yml builds in a job without secrets and publishes from another: the build job
    may only read contents and names no secret; the release job needs it, downloads its files,
    attests them before ``inv release`` runs, and hands them over with ``--prebuilt``."""
    problems = []
    build, release = jobs(workflow).get("build"), jobs(workflow).get("release", {})
    if build is None:
        return ["no build job"]
    if build.get("permissions") != {"contents": "read"}:
        problems.append(f"the build job's permissions are {build.get('permissions')!r}")
    if "secrets." in json.dumps(build) or "environment" in build:
        problems.append("the build job can read secrets")
    if "build" not in str(release.get("needs", "")):
        problems.append("the release job does not need the build job")
    order = [str(s.get("uses", "")) + " " + str(s.get("run", "")) for s in release.get("steps", [])]

    def first(text: str) -> int:
        return next((n for n, step in enumerate(order) if text in step), len(order))

    attest, sign, publish = (
        first("actions/attest-build-provenance@"),
        first("pypi_attestations sign"),
        first("inv release"),
    )
    if first("actions/download-artifact@") > attest:
        problems.append("the release job attests before it downloads the build job's files")
    if not attest < publish or not sign < publish:
        problems.append("the release job attests after `inv release` published")
    if "--prebuilt" not in (order[publish] if publish < len(order) else ""):
        problems.append("`inv release` is not given the build job's files (--prebuilt)")
    return problems


def test_the_release_builds_without_secrets_and_attests_before_publishing() -> None:
    assert split_problems(load(RELEASE)) == []


def test_the_split_check_fires() -> None:
    workflow = load(RELEASE)
    release = workflow["jobs"]["release"]
    attest = next(s for s in release["steps"] if "attest-build-provenance" in str(s.get("uses")))
    release["steps"].remove(attest)
    release["steps"].append(attest)  # after inv release: too late
    workflow["jobs"]["build"]["permissions"]["id-token"] = "write"
    assert split_problems(workflow) == [
        "the build job's permissions are {'contents': 'read', 'id-token': 'write'}",
        "the release job attests after `inv release` published",
    ]
    assert release_problems(workflow) != []  # id-token: write outside the release job
    del workflow["jobs"]["build"]
    assert split_problems(workflow) == ["no build job"]
