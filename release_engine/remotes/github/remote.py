"""GitHub as a remote: its settings, its token, its client, its reach probe, its stand-in.

Preflight reads ``GET /repos/{owner}/{repo}``, whose ``permissions.push`` says whether the
token may push (an app installation token is told nothing there: then reading it is the
check). The rehearsal's stand-in (:class:`release_engine.standins.github_api.GitHubStandIn`)
serves the clone's bare remote: pull requests have their heads there and merge there for real;
what GitHub would say of a release whose gates are green is said to it (:func:`seed_green`),
and the preflight asks for real.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from ...errors import ConfigError
from ...spec import Spec, url
from ...tools.git import Git
from .. import Remote
from ..probe import answers

if TYPE_CHECKING:
    from contextlib import ExitStack

    from ...config import Credentials, ReleaseConfig
    from ...context import ReleaseContext
    from ...standins.github_api import GitHubStandIn
    from .. import Check, Rehearsing

__all__ = ["GitHub", "check_api_url", "check_github", "seed_green", "token"]

VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN")


def token(credentials: Credentials) -> str | None:
    """The GitHub token of the environment: ``GITHUB_TOKEN``, else ``GH_TOKEN``."""
    return credentials.get("GITHUB_TOKEN") or credentials.get("GH_TOKEN")


class GitHub(Remote):
    order = 10
    name = "github"
    settings: ClassVar[dict[str, Spec]] = {
        "github_repository": Spec("str", "owner/name on GitHub; empty: no GitHub", "",
                                  pattern=r"([\w.-]+/[\w.-]+)?",
                                  hint="use owner/name such as your-org/finbot, or empty"),
        "github_api_url": url("the GitHub API", default="https://api.github.com",
                              optional=False),
        "required_approvals": Spec("int", "approvals each pull request needs when the branch "
                                   "protection cannot be read", 1, minimum=1,
                                   hint="use a number of approvals, one at least"),
        "required_checks": Spec("list", "checks that must be green on the released commit "
                                "when the branch protection and rulesets require none",
                                ("green",)),
        "prerelease_check": Spec("str", "the CI matrix's own check: the prerelease proof",
                                 "green"),
    }  # fmt: skip

    def variables(self, config: ReleaseConfig) -> tuple[str, ...]:
        return VARIABLES

    def invalid(self, config: ReleaseConfig) -> str | None:
        try:
            check_api_url(config.github_api_url)
        except ConfigError as exc:
            return exc.message
        return None

    def missing(self, config: ReleaseConfig, credentials: Credentials) -> list[str]:
        problems = []
        if config.merge == "pull-request" and not config.github_repository:
            problems.append(
                'merge = "pull-request" needs github_repository: set it in [tool.release], '
                'or use merge = "push"'
            )
        if config.github_repository and not token(credentials):
            problems.append("GITHUB_TOKEN is not set: export a token that can create releases")
        return problems

    def open(self, ctx: ReleaseContext) -> None:
        config, secret = ctx.config, token(ctx.credentials)
        if config.github_repository and secret:
            from .client import GitHubClient

            ctx.github = GitHubClient(config.github_api_url, config.github_repository, secret)

    def probes(self, ctx: ReleaseContext) -> dict[str, Check]:
        if ctx.github is not None:
            return {"github": lambda: _can_push(ctx)}
        if ctx.config.github_repository:  # no token (said apart): is GitHub there at all?
            return {"github": lambda: answers("GitHub", ctx.config.github_api_url)}
        return {}

    def stand_in(self, stack: ExitStack, workdir: Path) -> object:
        from ...standins.github_api import GitHubStandIn

        return stack.enter_context(GitHubStandIn(repository="rehearsal/release"))

    def rehearse(self, stand_in: Any, rehearsing: Rehearsing) -> None:
        """The stand-in serves the clone's bare remote; with ``merge=pull-request`` that
        remote's main is protected as GitHub protects it, refusing every push (GH006). The
        commit being released passed CI and every commit it brings reached its branch through
        an approved pull request."""
        work, config = rehearsing.work, rehearsing.config
        remote = Git(work).remote_url("origin")
        if remote and Path(remote).is_dir():
            stand_in.attach_git(Path(remote))
            if rehearsing.settings.get("merge", config.merge) == "pull-request":
                stand_in.protect_branch(config.main_branch)
        hotfix = f"hotfix/{rehearsing.version.tag(config.tag_prefix)}"
        base = hotfix if Git(work).branch_exists(hotfix) else config.main_branch
        checks = (*config.required_checks, config.prerelease_check)
        seed_green(stand_in, work, ref=base, base=base, checks=checks)
        rehearsing.settings |= {"github_repository": stand_in.repository,
                                "github_api_url": stand_in.url}  # fmt: skip
        rehearsing.environment["GITHUB_TOKEN"] = stand_in.token


def _can_push(ctx: ReleaseContext) -> str | None:
    assert ctx.github is not None
    if ctx.github.can_push() is False:
        return (
            f"GITHUB_TOKEN may not push to {ctx.config.github_repository} (GitHub's "
            "permissions.push is false): use a token with contents: write"
        )
    return None


def seed_green(
    github: GitHubStandIn,
    repo: Path,
    *,
    ref: str = "HEAD",
    base: str = "main",
    checks: tuple[str, ...] = ("green",),
) -> None:
    """Tell the GitHub stand-in what GitHub says of a release whose gates are green: *checks*
    passed on *ref* (of the git repository *repo*, bare or not), and every commit it brings
    since the last tag reached *base* through one merged pull request, approved."""
    git = Git(repo)
    sha = git.rev(ref) or ""
    for check in dict.fromkeys(checks):
        github.seed_check_run(sha, check)
    commits = git.read("rev-list", sha, "--not", "--tags").split()
    github.seed_pull(int(sha[:6], 16), head_sha=sha, merge_commit_sha=sha, base=base,
                     merged=True, approved_by=["rehearsal-reviewer"], commits=commits)  # fmt: skip


def check_github(api_url: str, repository: str, secret: str | None) -> None:
    """Refuse GitHub settings no request could use, before any request: one line each."""
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repository or ""):
        raise ConfigError(
            f"github_repository must look like owner/name, not {repository!r}: "
            "fix [tool.release] in pyproject.toml"
        )
    check_api_url(api_url)
    if not secret:
        raise ConfigError("GITHUB_TOKEN is not set: export a token that may write releases")


def check_api_url(api_url: str) -> None:
    parts = urlsplit(api_url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # Shown without what comes before an "@": credentials, even in a URL with no scheme
        # (which the output's URL redaction does not recognise).
        shown = f"***@{api_url.rpartition('@')[2]}" if "@" in (api_url or "") else api_url
        raise ConfigError(
            f"github_api_url = {shown!r}: use an http(s) URL such as https://api.github.com"
        )


REMOTE = GitHub
