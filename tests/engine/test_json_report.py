"""``--json``: one object on stdout, success or failure, valid against the documented schema."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from release_engine import __version__, cli
from release_engine.context import Options
from release_engine.errors import PreflightError, ReleaseError, UsageError
from release_engine.plan import Outcome, Status
from release_engine.redact import Secrets
from release_engine.rehearsal import clone_for_rehearsal, stand_ins
from release_engine.report import SCHEMA_VERSION, Report, failure_dict, status_dict
from tests.conftest import REPO, git
from tests.engine.conftest import VERSION, standin_settings

SCHEMA = json.loads((REPO / "docs" / "release-report.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def one_object(stdout: str, report: str = "release") -> dict[str, Any]:
    """stdout holds one JSON object on one line, valid against the schema."""
    lines = stdout.splitlines()
    assert len(lines) == 1, stdout
    data: dict[str, Any] = json.loads(lines[0])
    VALIDATOR.validate(data)
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["report"] == report
    assert data["tool_version"] == __version__
    return data


def inv(
    work: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["inv", *args], cwd=work, capture_output=True, text=True, env=env, timeout=900
    )


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_the_schema_refuses_a_failure_without_its_error() -> None:
    data = failure_dict(Report(VERSION, f"v{VERSION}"), UsageError("bad"), started=False)
    VALIDATOR.validate(data)
    for broken in ({"error": None}, {"ok": True}, {"schema_version": 2}, {"surprise": 1}):
        assert not VALIDATOR.is_valid({**data, **broken}), broken


@pytest.mark.e2e
def test_success_of_a_kept_rehearsal(source_repo: Path, tmp_path: Path, clean_env: None) -> None:
    from tests.engine.test_readme import rehearsal_argv

    proc = subprocess.run(
        [*rehearsal_argv(), "--json", "--keep"],
        cwd=source_repo,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = one_object(proc.stdout)
    kept = Path(data["rehearsal_dir"])
    try:
        assert kept.is_dir()
        assert data["ok"] is True and data["error"] is None and data["resume"] is None
        assert data["rehearsal"] is True and data["dry_run"] is False
        tagged = git(kept / "remote.git", "rev-parse", f"{data['tag']}^{{commit}}")
        assert data["commit"] == tagged
        assert data["latest"] is True  # the README's version is the newest stable release
        assert not {"ci", "review", "prerelease"} & set(data["waived"])  # asked of the stand-in
        skipped = {s["name"]: s["detail"] for s in data["steps"] if s["status"] == "skipped"}
        assert {s["step"]: s["reason"] for s in data["skipped"]} == skipped
        assert "Rehearsal" not in proc.stdout and "Create release branch" in proc.stderr
    finally:
        shutil.rmtree(kept, ignore_errors=True)
    assert git(source_repo, "tag", "--list") == ""


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("--version", "1.2"), "'1.2' is not a release version"),
        (("--version", VERSION, "--set", "index=x"), "--set 'index=x': use KEY=VALUE"),
        ((), "--version is required, for example: inv release --version 1.2.3"),
    ],
)
def test_a_refusal_is_one_object_with_the_error_and_exits_non_zero(
    source_repo: Path, tmp_path: Path, clean_env: None, args: tuple[str, ...], error: str
) -> None:
    work = clone_for_rehearsal(source_repo, tmp_path)
    proc = inv(work, "release", "--json", *args)
    assert proc.returncode == 2  # bad input
    data = one_object(proc.stdout)
    assert data["ok"] is False and data["error"].startswith(error)
    assert data["failed_step"] is None and data["resume"] is None and data["steps"] == []
    assert f"error: {error}" in proc.stderr


def test_a_dirty_tree_is_refused_with_every_problem_listed(
    source_repo: Path, tmp_path: Path, clean_env: None
) -> None:
    work = clone_for_rehearsal(source_repo, tmp_path)
    (work / "stray.txt").write_text("not committed\n")
    proc = inv(work, "release", "--version", VERSION, "--json", "--set", "image=")
    assert proc.returncode == 3  # refused, nothing changed
    data = one_object(proc.stdout)
    assert data["error"].startswith("preflight failed")
    assert any("working tree is not clean" in d for d in data["details"])
    assert data["version"] == VERSION and data["tag"] == f"v{VERSION}"
    assert data["resume"] is None and data["failed_step"] is None  # nothing was started
    assert git(work, "tag", "--list") == ""


@pytest.mark.e2e
def test_a_step_failing_mid_release_names_the_step_and_the_resume_command(
    source_repo: Path, tmp_path: Path, clean_env: None
) -> None:
    with stand_ins(tmp_path / "standins", without={"registry"}) as s:
        work = clone_for_rehearsal(source_repo, tmp_path)
        env, flags = standin_settings(s)
        # The webhook is there (the preflight reaches it) and fails the one message sent.
        s.slack.fail_next(1, 503)
        options = ["--skip-ci", "--skip-review", "--skip-prerelease"]
        proc = inv(work, "release", "--version", VERSION, "--json", *flags, *options, env=env)
    assert proc.returncode == 1, proc.stderr[-3000:]
    data = one_object(proc.stdout)
    assert data["ok"] is False
    assert data["failed_step"] == "notify"
    # The resume command is the command that was run: a rerun without the flags or the --set
    # pairs would publish what was skipped, or point at the real services.
    rerun = shlex.join(["inv", "release", "--version", VERSION, "--json", *options, *flags])
    assert data["resume"] == rerun
    assert "answered 503" in data["error"] and s.slack.received == []
    assert {"ci", "review", "prerelease"} <= set(data["waived"])
    # No gate is waived silently: the report, the JSON and the GitHub release notes say so.
    assert "review check skipped (--skip-review)" in proc.stderr
    assert s.github.releases()[0]["body"].endswith(
        "\n\n---\n\nReleased with pre-release gates waived: ci (--skip-ci), review "
        "(--skip-review), prerelease (--skip-prerelease).\n"
    )
    reached = {step["name"]: step["status"] for step in data["steps"]}
    assert reached["upload"] == reached["push"] == "acted" and "notify" not in reached
    for secret in (s.github.token, s.index.password, s.slack.path.rsplit("/", 1)[-1]):
        assert secret not in proc.stdout + proc.stderr
    assert f"resume with: {rerun}" in proc.stderr


def test_status_json_carries_the_schema_and_tool_version(
    source_repo: Path, tmp_path: Path, clean_env: None
) -> None:
    work = clone_for_rehearsal(source_repo, tmp_path)
    quiet = ["--set", "index_simple_url=http://127.0.0.1:9/simple/", "--set", "image="]
    quiet += ["--set", "github_repository="]
    proc = inv(work, "release.status", "--version", VERSION, "--json", *quiet)
    assert proc.returncode == 0, proc.stderr
    data = one_object(proc.stdout, "status")
    assert data["ok"] is True and data["tag"] == f"v{VERSION}" and data["steps"]

    proc = inv(work, "release.status", "--version", "1.2", "--json")
    assert proc.returncode == 2
    data = one_object(proc.stdout, "status")
    assert data["ok"] is False and "not a release version" in data["error"]


def test_an_error_in_process_is_reported_then_raised(
    source_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = clone_for_rehearsal(source_repo, tmp_path)
    with pytest.raises(UsageError):
        cli.release_command(work, "1.2", options=Options(), secrets=Secrets(), as_json=True)
    assert one_object(capsys.readouterr().out)["error"].startswith("'1.2' is not a release")


def test_failures_of_every_kind_are_valid_reports() -> None:
    draft = Report(VERSION, f"v{VERSION}", resume=f"inv release --version {VERSION}")
    draft.steps = [Outcome("branch", "Create release branch", Status.ACTED)]
    stepped = ReleaseError("the index answered 500")
    stepped.step, stepped.resume = "upload", "Upload failed; resume with: inv release ..."
    cases: list[tuple[BaseException, bool]] = [
        (stepped, True),
        (PreflightError(["one", "two"]), False),
        (KeyboardInterrupt(), True),
        (RuntimeError("a bug\nwith two lines"), True),
    ]
    for error, started in cases:
        data = failure_dict(draft, error, started=started)
        VALIDATOR.validate(data)
        assert data["resume"] == (f"inv release --version {VERSION}" if started else None)
    assert failure_dict(draft, stepped, started=True)["failed_step"] == "upload"
    assert failure_dict(draft, PreflightError(["one", "two"]), started=False)["details"] == [
        "one",
        "two",
    ]
    bug = failure_dict(draft, RuntimeError("a bug\nwith two lines"), started=True)
    assert bug["error"] == "internal error: RuntimeError: a bug"
    assert bug["details"] == ["with two lines"]
    VALIDATOR.validate(status_dict(None, None, [], UsageError("bad")))


def test_the_schema_takes_status_with_and_without_its_cadence() -> None:
    plain = status_dict(VERSION, f"v{VERSION}", [])
    VALIDATOR.validate(plain)  # the old shape, as --version prints it
    unknown = {"value": None, "digest": None, "error": "could not reach GitHub"}
    cadence: dict[str, Any] = {
        "last_release": "1.2.3",
        "last_release_date": "2026-01-10",
        "days_since": 21,
        "fragments": {"added": 2, "fixed": 1},
        "suggested_bump": "minor",
        "suggested_version": "1.3.0",
        "latest": {
            "github": unknown,
            "registry": {"value": "1.2.3", "digest": "sha256:" + "a" * 64, "error": None},
            "index": {"value": None, "digest": None, "error": None},
        },
        "rolled_back": ["1.2.2"],
    }
    VALIDATOR.validate({**plain, "cadence": cadence})
    broken: list[dict[str, Any]] = [
        {"suggested_bump": "huge"},
        {"fragments": {"added": 0}},
        {"latest": {"github": unknown}},
        {"surprise": 1},
    ]
    for change in broken:
        assert not VALIDATOR.is_valid({**plain, "cadence": {**cadence, **change}}), change
    release = Report(VERSION, f"v{VERSION}").as_dict()
    assert not VALIDATOR.is_valid({**release, "cadence": cadence})  # status only
