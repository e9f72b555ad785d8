"""A clone a killed run left mid-operation is settled by the next run, and preflight reaches
every remote with its credentials: each guard made to fire, each refusal before any change."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from release_engine.config import Credentials
from release_engine.context import Options, ReleaseContext
from release_engine.engine import open_release
from release_engine.errors import PreflightError
from release_engine.preflight import preflight
from release_engine.reach import reach_problems
from release_engine.settle import REVERT_REF, settle
from release_engine.standins.github_api import GitHubStandIn
from release_engine.standins.pypi import PackageIndexStandIn
from release_engine.standins.sink import NotificationSink
from release_engine.steps.publish import Build
from release_engine.version import parse_version
from tests.conftest import git
from tests.engine.conftest import VERSION
from tests.engine.test_preflight import make_work, open_local, problems, snapshot


@pytest.fixture
def work(source_repo: Path, tmp_path: Path, clean_env: None) -> Path:
    return make_work(source_repo, tmp_path)


def _release_branch_with_a_commit(work: Path) -> str:
    """What a run killed inside the merge step had made: the release branch and its commit."""
    branch = f"release/v{VERSION}"
    git(work, "checkout", "-q", "-b", branch)
    (work / "released.txt").write_text("released\n")
    git(work, "add", "released.txt")
    git(work, "commit", "-qm", f"Release v{VERSION}")
    git(work, "checkout", "-q", "main")
    return branch


def test_an_unfinished_merge_of_the_release_is_aborted_and_done_again(work: Path) -> None:
    branch = _release_branch_with_a_commit(work)
    git(work, "merge", "--no-ff", "--no-commit", branch)  # killed before the merge commit
    assert (work / ".git" / "MERGE_HEAD").exists()
    notes = settle(open_local(work))
    assert any("aborted the unfinished merge" in n for n in notes)
    assert not (work / ".git" / "MERGE_HEAD").exists() and git(work, "status", "--porcelain") == ""


def test_a_merge_that_is_not_the_releases_is_named_and_left_alone(work: Path) -> None:
    git(work, "checkout", "-q", "-b", "feature")
    (work / "feature.txt").write_text("feature\n")
    git(work, "add", "feature.txt")
    git(work, "commit", "-qm", "A feature")
    git(work, "checkout", "-q", "main")
    git(work, "merge", "--no-ff", "--no-commit", "feature")
    before = snapshot(work)
    with pytest.raises(PreflightError, match=r"a git merge of \w+ is in progress"):
        settle(open_local(work))
    assert snapshot(work) == before and (work / ".git" / "MERGE_HEAD").exists()


def test_a_lock_file_a_killed_git_left_is_removed_a_fresh_one_kept(work: Path) -> None:
    lock = work / ".git" / "index.lock"
    lock.write_text("")
    assert settle(open_local(work)) == []  # young: a git may be running
    old = time.time() - 60
    os.utime(lock, (old, old))
    assert any("index.lock" in n for n in settle(open_local(work)))
    assert not lock.exists()


def test_main_moved_to_the_revert_only_in_its_work_tree_is_finished(work: Path) -> None:
    """Killed inside main's fast-forward to the rollback's revert commit: the work tree is
    there, main is not. Someone else's change in the same state is never taken for it."""
    head = git(work, "rev-parse", "HEAD")
    (work / "README.md").write_text("reverted\n")
    git(work, "commit", "-qam", "Roll back")
    revert = git(work, "rev-parse", "HEAD")
    git(work, "update-ref", REVERT_REF, revert)
    git(work, "reset", "-q", "--soft", head)  # the ref update did not happen
    assert git(work, "status", "--porcelain")
    notes = settle(open_local(work))
    assert any("finished moving main" in n for n in notes)
    assert git(work, "rev-parse", "HEAD") == revert and git(work, "status", "--porcelain") == ""
    assert git(work, "for-each-ref", REVERT_REF) == ""


def test_a_foreign_change_is_never_taken_for_the_revert(work: Path) -> None:
    head = git(work, "rev-parse", "HEAD")
    (work / "README.md").write_text("reverted\n")
    git(work, "commit", "-qam", "Roll back")
    git(work, "update-ref", REVERT_REF, git(work, "rev-parse", "HEAD"))
    git(work, "reset", "-q", "--hard", head)
    (work / "README.md").write_text("a maintainer's edit\n")
    assert settle(open_local(work)) == []
    assert (work / "README.md").read_text() == "a maintainer's edit\n"
    assert git(work, "rev-parse", "HEAD") == head


@pytest.mark.parametrize("how", ["lightweight", "other message", "other commit"])
def test_a_hand_made_tag_of_the_release_is_a_conflict(work: Path, how: str) -> None:
    tag = f"v{VERSION}"
    if how == "lightweight":
        git(work, "tag", tag)
    elif how == "other message":
        git(work, "tag", "-a", tag, "-m", "my tag")
    else:
        git(work, "tag", "-a", tag, "-m", f"Release version {VERSION}")  # on a non-release commit
    found = problems(open_local(work))
    assert len(found) == 1 and f"tag {tag} in this clone is " in found[0]
    assert f"git tag -d {tag}" in found[0]


def test_a_build_killed_before_its_check_left_nothing_built(work: Path) -> None:
    """The files are built and checked aside: what is in the dist directory was checked."""
    ctx = open_local(work)
    staged = ctx.state_dir / "dist-unchecked"
    staged.mkdir(parents=True)
    for name in ("market_data_ingestion-V.tar.gz", "market_data_ingestion-V-py3-none-any.whl"):
        (staged / name.replace("V", VERSION)).write_text("unchecked")
    assert Build().observe(ctx).status == "pending"
    shown = [a.render() for a in Build().actions(ctx)]
    assert "twine" in shown[-2] and "check" in shown[-2] and str(staged) in shown[-2]
    assert shown[-1] == f"move the checked files to {ctx.dist_dir}"


# --- preflight reaches every remote it will write ----------------------------------------------


@pytest.fixture
def pypi(tmp_path: Path) -> Iterator[PackageIndexStandIn]:
    with PackageIndexStandIn(tmp_path / "pypi") as standin:
        yield standin


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_wrong_index_password_is_refused_before_anything(
    work: Path, pypi: PackageIndexStandIn
) -> None:
    def ctx(password: str) -> object:
        return open_release(
            work,
            parse_version(VERSION),
            overrides={"image": "", "github_repository": "", "index_url": pypi.upload_url},
            options=Options(skip_prerelease=True),
            credentials=Credentials({"TWINE_USERNAME": pypi.username, "TWINE_PASSWORD": password}),
        )

    assert reach_problems(ctx(pypi.password)) == []  # type: ignore[arg-type]
    before = snapshot(work)
    found = reach_problems(ctx("wrong-" + pypi.password))  # type: ignore[arg-type]
    assert found == [
        f"the package index at http://127.0.0.1:{pypi.port} refused the login (403): "
        "check TWINE_USERNAME and TWINE_PASSWORD"
    ] or (len(found) == 1 and "refused the login (401)" in found[0])
    assert snapshot(work) == before and list(pypi.packages.iterdir()) == []
    pypi.stop()
    down = reach_problems(ctx(pypi.password))  # type: ignore[arg-type]
    assert len(down) == 1 and "is unreachable" in down[0]


def test_a_github_token_that_gets_401_or_may_not_push_is_refused(work: Path) -> None:
    with GitHubStandIn("your-org/finbot") as gh:

        def ctx(token: str) -> object:
            return open_release(
                work,
                parse_version(VERSION),
                overrides={
                    "image": "",
                    "index_url": "",
                    "github_repository": gh.repository,
                    "github_api_url": gh.url,
                },
                options=Options(skip_prerelease=True, skip_ci=True, skip_review=True),
                credentials=Credentials({"GITHUB_TOKEN": token}),
            )

        assert reach_problems(ctx(gh.token)) == []  # type: ignore[arg-type]
        wrong = reach_problems(ctx("ghp_wrong"))  # type: ignore[arg-type]
        assert len(wrong) == 1 and "401" in wrong[0] and "GITHUB_TOKEN" in wrong[0]
        assert "ghp_wrong" not in wrong[0]
        gh.state.push_permission = False
        denied = reach_problems(ctx(gh.token))  # type: ignore[arg-type]
        assert denied == [
            f"GITHUB_TOKEN may not push to {gh.repository} (GitHub's permissions.push is "
            "false): use a token with contents: write"
        ]
        with pytest.raises(PreflightError, match="may not push"):
            preflight(ctx(gh.token))  # type: ignore[arg-type]


def test_a_wrong_or_unreachable_webhook_is_named_without_its_secret_path(work: Path) -> None:
    def found(url: str) -> list[str]:
        ctx = open_release(
            work,
            parse_version(VERSION),
            overrides={"image": "", "index_url": "", "github_repository": ""},
            credentials=Credentials({"RELEASE_NOTIFY_WEBHOOKS": url}),
        )
        return reach_problems(ctx)

    with NotificationSink() as sink:
        assert found(sink.url) == [] and sink.received == []  # a right URL: nothing posted
        wrong = found(sink.url.rsplit("/", 1)[0] + "/secret-path")
        assert len(wrong) == 1 and "answered 404 no_service" in wrong[0]
        assert "RELEASE_NOTIFY_WEBHOOKS" in wrong[0] and "secret-path" not in wrong[0]
        assert sink.received == []
    gone = found(f"http://127.0.0.1:{_free_port()}/services/T0/B0/secret-path")
    assert len(gone) == 1 and "unreachable" in gone[0] and "secret-path" not in gone[0]


def test_a_mail_server_refusing_the_login_is_named_before_anything(work: Path) -> None:
    from release_engine.standins.smtp import SmtpStandIn

    with SmtpStandIn() as smtp:

        def ctx(password: str) -> ReleaseContext:
            return open_release(
                work,
                parse_version(VERSION),
                overrides={
                    "image": "",
                    "index_url": "",
                    "github_repository": "",
                    "smtp_host": "127.0.0.1",
                    "smtp_port": smtp.port,
                    "smtp_starttls": False,
                    "email_from": "release@example.org",
                    "email_to": ("team@example.org",),
                },
                credentials=Credentials(
                    {"SMTP_USERNAME": smtp.username, "SMTP_PASSWORD": password}
                ),
            )

        assert reach_problems(ctx(smtp.password)) == [] and smtp.delivered == []
        found = reach_problems(ctx("wrong-password"))
        assert len(found) == 1 and "refused the login" in found[0]
        assert "SMTP_PASSWORD" in found[0] and "wrong-password" not in found[0]
