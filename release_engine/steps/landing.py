"""Land commits on main: every change the engine makes to main goes through here.

``[tool.release] merge = "push"`` (the default) pushes main. ``merge = "pull-request"`` is for
a protected main, which refuses pushes: the commits are pushed to a branch of their own, a pull
request into main is opened for it (or the open one is found: never two), its required checks
are waited for (``pull_request_timeout`` seconds at most, progress printed), it is merged with
a merge commit through the API, and the local main is fast-forwarded to the remote's.

Observable like every step: a merged pull request from that branch means done, an open one is
merged, not opened again.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..errors import ReleaseError
from ..plan import Action, Call

if TYPE_CHECKING:
    from ..context import ReleaseContext
    from ..remotes.github.pulls import PullRequest, Pulls

__all__ = [
    "land",
    "merged_pull",
    "pull_request_mode",
    "pull_request_to_main",
    "remote_main",
    "sync_main",
]

_FIRST_WAIT, _LONGEST_WAIT = 1.0, 15.0


def pull_request_mode(ctx: ReleaseContext, target: str | None = None) -> bool:
    """Whether changes to *target* (main) reach it through pull requests."""
    target = ctx.config.main_branch if target is None else target
    return ctx.config.merge == "pull-request" and target == ctx.config.main_branch


def remote_main(ctx: ReleaseContext) -> str | None:
    """The remote's main, when this clone has that commit (None: not there, or not fetched)."""
    sha = ctx.git.remote_refs(ctx.config.remote).get(f"refs/heads/{ctx.config.main_branch}")
    return sha if sha is not None and ctx.git.rev(sha) is not None else None


def merged_pull(ctx: ReleaseContext, branch: str, head: str | None = None) -> PullRequest | None:
    """The merged pull request from *branch* into main (whose head is *head*, if given)."""
    if ctx.github is None:
        return None
    from ..remotes.github.pulls import Pulls  # GitHub's client: loaded when GitHub is asked

    for pull in Pulls(ctx.github).find(branch, ctx.config.main_branch, "closed"):
        if pull.merged and (head is None or pull.head_sha == head):
            return pull
    return None


def sync_main(ctx: ReleaseContext) -> list[Action]:
    """Fetch main and fast-forward the local main where it is behind (pull-request mode)."""
    main, remote = ctx.config.main_branch, ctx.config.remote

    def sync() -> None:
        ctx.git("fetch", "--quiet", remote, f"refs/heads/{main}")
        fetched, local = ctx.git.rev("FETCH_HEAD"), ctx.git.rev(main)
        if fetched is None or local is None or fetched == local:
            return
        if not ctx.git.is_ancestor(local, fetched):
            return  # local commits not landed yet: their pull request merges them
        if ctx.git.current_branch() == main:
            ctx.git("merge", "--quiet", "--ff-only", fetched)
        else:
            ctx.git("update-ref", f"refs/heads/{main}", fetched, local)

    return [Call(f"fetch {main} from {remote}; fast-forward the local {main} if behind", sync)]


def land(ctx: ReleaseContext, *, source: str, branch: str, title: str) -> list[Action]:
    """The actions that bring the commits of *source* (a local branch) onto main on the remote.

    Push mode pushes main (*source* must be main). Pull-request mode pushes *source* to
    *branch* on the remote, merges a pull request *title* from it, then checks out main
    fast-forwarded to the remote's.
    """
    main, remote = ctx.config.main_branch, ctx.config.remote
    if not pull_request_mode(ctx):
        return [ctx.git.command("push", "--quiet", remote, f"refs/heads/{main}")]
    return [
        ctx.git.command("push", "--quiet", remote, f"refs/heads/{source}:refs/heads/{branch}"),
        Call(
            f"pull request {branch} -> {main} on GitHub: find the open one or open it, wait "
            "for its required checks, merge it (merge commit)",
            lambda: pull_request_to_main(ctx, source=source, branch=branch, title=title),
        ),
        ctx.git.command("fetch", "--quiet", remote, f"refs/heads/{main}"),
        ctx.git.command("checkout", "--quiet", main),
        ctx.git.command("merge", "--quiet", "--ff-only", "FETCH_HEAD"),
    ]


def pull_request_to_main(ctx: ReleaseContext, *, source: str, branch: str, title: str) -> None:
    """Merge the pull request from *branch* (pushed from *source*) into main, opening it if
    none is open; done at once when one with this head is merged already."""
    if ctx.github is None:
        raise ReleaseError(
            'merge = "pull-request" needs GitHub: set github_repository and GITHUB_TOKEN'
        )
    from ..remotes.github.pulls import Pulls

    main, pulls = ctx.config.main_branch, Pulls(ctx.github)
    head = ctx.git.rev(source) or ""
    if merged_pull(ctx, branch, head) is not None:
        return
    found = pulls.find(branch, main, "open")
    if found:
        pull = found[0]
        ctx.progress(f"pull request #{pull.number} is open: {pull.html_url}")
    else:
        body = f"Opened by the release engine for {ctx.tag}: {title}."
        pull = pulls.open(branch, main, title, body)
        ctx.progress(f"opened pull request #{pull.number}: {pull.html_url}")
    _wait_and_merge(ctx, pulls, pull, head)


def _wait_and_merge(ctx: ReleaseContext, pulls: Pulls, pull: PullRequest, head: str) -> None:
    """Merge *pull* once its checks allow it, within ``pull_request_timeout`` seconds."""
    assert ctx.github is not None
    timeout = ctx.config.pull_request_timeout
    deadline, wait = time.monotonic() + timeout, _FIRST_WAIT
    name = f"pull request #{pull.number} ({pull.html_url})"
    while True:
        ci = ctx.github.ci_state(head)
        if ci.state == "failure":
            raise ReleaseError(
                f"{name}: checks failed on {head[:12]} ({', '.join(ci.failing)}): fix them on "
                f"{pull.head}, or merge it on GitHub, then resume"
            )
        if ci.state == "pending":
            waiting = f"checks pending: {', '.join(ci.pending)}"
        else:
            result = pulls.merge(pull.number, head)
            if result.merged:
                ctx.progress(f"merged {name}: {result.sha[:12]}")
                return
            if result.status != 405 or "status check" not in result.message:
                raise ReleaseError(
                    f"GitHub refused to merge {name}: {result.status} {result.message}: "
                    "merge it on GitHub (or fix what it says), then resume"
                )
            waiting = result.message
        if time.monotonic() + wait > deadline:
            raise ReleaseError(
                f"{name} still waits after {timeout}s ({waiting}): resume once its checks "
                "pass, or raise [tool.release] pull_request_timeout"
            )
        ctx.progress(f"{name}: {waiting}; checking again in {wait:.0f}s")
        time.sleep(wait)
        wait = min(wait * 2, _LONGEST_WAIT)
