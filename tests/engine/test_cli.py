"""``inv`` as a maintainer types it: flags over config, credentials from the environment."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from release_engine import __version__
from release_engine.cli import release_invocation, rollback_invocation
from release_engine.context import Options
from release_engine.rehearsal import clone_for_rehearsal, stand_ins
from release_engine.remotes.github.remote import seed_green
from tests.conftest import REPO, git
from tests.engine.conftest import VERSION, standin_settings

PROCESS = [
    "release",
    "release.status",
    "release.verify",
    "hotfix",
    "rollback",
    "changelog.add",
    "changelog.preview",
    "changelog.check",
]
FLAG = re.compile(r"^\s+(?:-(\w)(?: \w+)?, )?--([\w-]+)", re.M)


def inv(
    work: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["inv", *args], cwd=work, capture_output=True, text=True, env=env, timeout=600
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ((), 2, "error: --version is required, for example: inv release --version 1.2.3"),
        (("--version", "1.2"), 2, "error: '1.2' is not a release version"),
        (("--version", ""), 2, "error: '' is not a release version"),  # given, not missing
        (
            ("--version", f"v{VERSION}"),
            2,
            "is a tag, not a version: drop the v",
        ),
        (("--version", "1." + "9" * 30 + ".0"), 2, "has a number above 9007199254740991"),
        (("--version", f" {VERSION}"), 2, "has whitespace around it"),
        (("--version", "1.2.1\u0663"), 2, "is not a release version"),
        (("--version", "0.0.1", "--skip-prerelease"), 3, "not greater than the current version"),
        (("--version", VERSION, "--set", "index=x"), 2, "--set 'index=x': use KEY=VALUE"),
        (("--version", VERSION, "--set", "registry_tls_verify=maybe"), 2, "use true or false"),
        (("--version", VERSION, "--set", "merge=yolo"), 2, "--set merge = 'yolo': use \"push\""),
        (("--version", VERSION, "--set", "smtp_port=70000"), 2, "--set smtp_port = 70000: use"),
        (("--version", VERSION, "--set", "github_api_url=api.github.com"), 2, "use an http(s) URL"),
        (
            ("--version", VERSION, "--set", "github_api_url=me:s3cret@api.github.com"),
            2,
            "github_api_url = '***@api.github.com'",
        ),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    source_repo: Path,
    tmp_path: Path,
    args: tuple[str, ...],
    code: int,
    message: str,
    clean_env: None,
) -> None:
    work = clone_for_rehearsal(source_repo, tmp_path)
    before = git(work, "show-ref"), git(work, "status", "--porcelain")
    proc = inv(work, "release", *args)
    assert proc.returncode == code  # 2: bad input; 3: refused, nothing changed
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr and "s3cret" not in proc.stderr
    if args and code == 2:  # given, however badly: one line, no usage (as a missing flag has)
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert (git(work, "show-ref"), git(work, "status", "--porcelain")) == before


@pytest.mark.e2e
def test_release_with_flags_and_environment_then_status(
    source_repo: Path, tmp_path: Path, clean_env: None
) -> None:
    with stand_ins(tmp_path / "standins", without={"registry"}) as s:
        work = clone_for_rehearsal(source_repo, tmp_path)
        seed_green(s.github, work)
        env, flags = standin_settings(s)
        missing = {k: v for k, v in env.items() if k != "GITHUB_TOKEN"}
        proc = inv(
            work,
            "release",
            "--version",
            VERSION,
            *flags,
            "--skip-prerelease",
            env=missing,
        )
        assert proc.returncode == 3  # refused before anything changed
        assert "GITHUB_TOKEN is not set" in proc.stderr
        assert git(work, "tag", "--list") == ""

        proc = inv(
            work,
            "release",
            "--version",
            VERSION,
            *flags,
            "--skip-prerelease",
            env=env,
        )
        assert proc.returncode == 0, proc.stderr + proc.stdout
        output = proc.stdout + proc.stderr
        for secret in (s.github.token, s.index.password, s.slack.url):
            assert secret not in output
        assert len(s.slack.received) == 1

        # release.status reads the same plan: everything done, nothing changed by looking.
        head = git(work, "rev-parse", "main")
        proc = inv(work, "release.status", "--version", VERSION, "--json", *flags, env=env)
        assert proc.returncode == 0, proc.stderr
        statuses = {step["name"]: step["status"] for step in json.loads(proc.stdout)["steps"]}
        assert git(work, "rev-parse", "main") == head
    assert statuses["github-release"] == statuses["upload"] == statuses["push"] == "done"
    assert statuses["image"] == "skipped"


def test_changelog_check_tells_a_contributor_their_fragment_is_missing(
    source_repo: Path, tmp_path: Path
) -> None:
    work = clone_for_rehearsal(source_repo, tmp_path)
    git(work, "checkout", "-q", "-b", "feature")
    (work / "src" / "market_data_ingestion" / "extra.py").write_text('"""New."""\n')
    git(work, "add", "--all")
    git(work, "commit", "-qm", "a change without a fragment")
    proc = inv(work, "changelog.check")
    assert proc.returncode == 3  # a check that finds a problem: refused, nothing changed
    assert "adds no changelog fragment since origin/main" in proc.stderr

    proc = inv(work, "changelog.add", "--type", "feature", "--message", "Added an extra module.")
    assert proc.returncode == 2 and "unknown fragment type 'feature'" in proc.stderr
    (work / "changelog.d" / "9.feature.md").write_text("Added extra.\n")
    proc = inv(work, "changelog.check")
    assert proc.returncode == 3 and "9.feature.md: unknown fragment type" in proc.stderr

    (work / "changelog.d" / "9.feature.md").unlink()
    assert (
        inv(
            work, "changelog.add", "--type", "added", "--message", "Added an extra module."
        ).returncode
        == 0
    )
    git(work, "add", "--all")
    git(work, "commit", "-qm", "fragment")
    proc = inv(work, "changelog.check")
    assert proc.returncode == 0, proc.stderr
    preview = inv(work, "changelog.preview", "--version", VERSION)
    assert f"## [{VERSION}]" in preview.stdout and "- Added an extra module." in preview.stdout


def test_status_with_an_unreachable_remote_marks_the_step_unknown_and_says_why(
    source_repo: Path, tmp_path: Path, clean_env: None
) -> None:
    work = clone_for_rehearsal(source_repo, tmp_path)
    closed = "http://127.0.0.1:9/simple/"  # the discard port: nothing listens there
    proc = inv(
        work,
        "release.status",
        "--version",
        VERSION,
        "--set",
        f"index_simple_url={closed}",
        "--set",
        "image=",
        "--set",
        "github_repository=",
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    row = next(line for line in proc.stdout.splitlines() if "Publish to the package index" in line)
    assert "unknown" in row
    assert "could not reach the package index" in proc.stdout
    assert "Create release branch" in proc.stdout  # the other steps are still shown
    assert f"release engine {__version__}" in proc.stdout


def test_inv_list_reads_as_the_release_process() -> None:
    proc = inv(REPO, "--list")
    assert proc.returncode == 0, proc.stderr
    listed = re.findall(r"^  (\S+) +\S", proc.stdout, re.M)  # a name and its one-line help
    assert sorted(listed) == sorted(PROCESS)
    assert "release.release" not in proc.stdout


def short_flags(task: str) -> dict[str, str | None]:
    """``inv --help TASK``'s options: each long flag and its short flag (or None)."""
    proc = inv(REPO, "--help", task)
    assert proc.returncode == 0, proc.stderr
    options = proc.stdout.split("Options:", 1)[1]
    return {long: short or None for short, long in FLAG.findall(options)}


def test_a_short_flag_means_the_same_in_every_task() -> None:
    core = {short for short, _ in FLAG.findall(inv(REPO, "--help").stdout) if short}
    owner: dict[str, str] = {}  # short flag -> the long flag it stands for
    given: dict[str, str | None] = {}  # long flag -> its short flag
    for task in PROCESS:
        for long, short in short_flags(task).items():
            assert given.setdefault(long, short) == short, f"--{long} in {task}"
            if short is not None:
                assert owner.setdefault(short, long) == long, f"-{short} in {task}"
                assert short not in core, f"-{short} in {task} is one of invoke's own"
    assert (given["version"], given["dry-run"], given["json"], given["set"]) == ("v", "n", "j", "s")
    assert given["skip-ci"] is None and given["allow-empty"] is None  # waivers are typed out


def test_release_without_a_version_prints_its_usage_and_one_error_line(tmp_path: Path) -> None:
    usage = inv(REPO, "--help", "release").stdout
    proc = inv(REPO, "release", "--dry-run")
    assert proc.returncode == 2  # bad input
    assert proc.stdout == ""
    assert usage in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: --version is required, for example: inv release --version 1.2.3"]
    assert "--version=STRING   the version to release" in proc.stderr  # help is read twice


def test_the_resume_command_is_the_command_that_was_run() -> None:
    everything = Options(
        allow_empty=True, skip_ci=True, skip_review=True, skip_prerelease=True, skip_image=True,
        skip_channels=True, skip_docs=True,
    )  # fmt: skip
    pairs = ["index_url=http://127.0.0.1:9/legacy/", "image=", "remote=my origin"]
    line = release_invocation("1.3.0-rc.1", everything, pairs, rehearse=True, keep=True)
    words = shlex.split(line)  # the shell reads back exactly what was given
    assert words[:4] == ["inv", "release", "--version", "1.3.0-rc.1"]
    for flag in ("--rehearse", "--keep", "--allow-empty", "--skip-ci", "--skip-review",
                 "--skip-channels", "--skip-docs"):  # fmt: skip
        assert flag in words
    assert "--skip-prerelease" in words and "--skip-image" in words and "--json" not in words
    assert [words[i + 1] for i, w in enumerate(words) if w == "--set"] == pairs
    # Every word is a flag invoke knows for `inv release`.
    usage = inv(REPO, "--help", "release").stdout
    for word in words[2:]:
        if word.startswith("--"):
            assert f"{word}" in usage, word
    plain = release_invocation("1.2.3", Options())
    assert plain == "inv release --version 1.2.3"
    # The rollback's too: it takes --set, so it can be pointed where the release went.
    back = shlex.split(rollback_invocation("1.2.3", pairs))
    assert back[:4] == ["inv", "rollback", "--version", "1.2.3"]
    assert [back[i + 1] for i, w in enumerate(back) if w == "--set"] == pairs
    assert "-s, --set " in inv(REPO, "--help", "rollback").stdout


def test_loading_the_tasks_imports_nothing_of_the_engine_a_listing_does_not_use() -> None:
    # `inv --list` and `inv --help` load tasks.py only; the engine loads when a task runs.
    code = "import sys, tasks; print(' '.join(sorted(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    ours = {m for m in loaded if m.startswith("release_engine")}
    assert ours == {
        "release_engine",
        "release_engine.errors",
        "release_engine.redact",
        "release_engine.usage",
    }
    for heavy in ("github", "requests", "rich", "slack_sdk", "bumpversion", "towncrier"):
        assert heavy not in loaded, heavy


def test_the_commands_module_loads_no_adapter_before_the_early_start() -> None:
    """``release_engine.cli`` starts bump-my-version's dry run before it loads the engine:
    importing it must not load the adapters' libraries (they come after, in the command)."""
    code = "import sys, release_engine.cli; print(' '.join(sorted(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    for heavy in (
        "github",
        "requests",
        "rich",
        "slack_sdk",
        "markdown_it",
        "release_engine.engine",
    ):
        assert heavy not in loaded, heavy


@pytest.mark.parametrize("dont_write", ["", "1"])
def test_inv_keeps_the_engines_bytecode_as_the_interpreter_would(
    tmp_path: Path, dont_write: str
) -> None:
    """invoke turns bytecode off for the tasks module; tasks.py turns it back on for the
    engine's package (compiled at every run otherwise), unless the interpreter is told not to
    write it; tasks.py itself gets no __pycache__ beside it, as invoke wants."""
    shutil.copy(REPO / "tasks.py", tmp_path)
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "release_engine", tmp_path / "release_engine", ignore=ignore)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": dont_write}
    proc = inv(tmp_path, "--list", env=env)
    assert proc.returncode == 0, proc.stderr
    tag = sys.implementation.cache_tag
    written = tmp_path / "release_engine" / "__pycache__" / f"errors.{tag}.pyc"
    assert written.is_file() is (dont_write == ""), proc.stdout
    assert not (tmp_path / "__pycache__").exists()


def test_inv_ends_without_the_teardown_but_with_the_exit_handlers_and_all_its_output(
    tmp_path: Path,
) -> None:
    """tasks.py's _exit_now: the exit handlers run, the whole output reaches a pipe (the same
    as a run that tears the interpreter down), the exit code is kept; a refusal exits so too."""
    marker = tmp_path / "exit-handlers-ran"
    (tmp_path / "sitecustomize.py").write_text(
        "import atexit, pathlib\n"
        f"atexit.register(lambda: pathlib.Path({str(marker)!r}).write_text('yes'))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = inv(REPO, "changelog.preview", env=env)
    assert proc.returncode == 0, proc.stderr
    assert marker.read_text() == "yes"
    torn_down = subprocess.run(  # invoke's program in a process not named inv: no early end
        [sys.executable, "-c", "from invoke.main import program; program.run()",
         "changelog.preview"],
        cwd=REPO, capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert torn_down.returncode == 0 and proc.stdout == torn_down.stdout
    assert proc.stdout.startswith("## [")  # the section, whatever waits (a released tree: none)
    marker.unlink()
    refused = inv(REPO, "release", "--version", "1.2", env=env)
    assert refused.returncode == 2 and marker.read_text() == "yes"
