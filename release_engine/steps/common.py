"""What several steps share: the built files, the release notes, branch switches, manifests."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..built import artifacts, release_notes, tag_commit
from ..errors import ReleaseError
from ..plan import Action, Call
from ..proc import Command, read
from ..remotes.github.notes import (
    FOOTER_RULE,
    GATE_WAIVERS,
    github_absent,
    github_notes,
    without_waivers,
)
from ..tools import keepachangelog

if TYPE_CHECKING:
    from ..context import ReleaseContext

__all__ = [
    "FOOTER_RULE",
    "GATE_WAIVERS",
    "artifacts",
    "checkout",
    "github_absent",
    "github_notes",
    "link_base",
    "merge_conflicted",
    "release_notes",
    "retarget_manifest",
    "retarget_manifests",
    "stale_manifests",
    "tag_commit",
    "without_waivers",
]


def checkout(ctx: ReleaseContext, branch: str) -> list[Command]:
    """The switch to *branch*, always: where the work tree is when a step acts depends on the
    steps before it in this run, which a dry run has not run, so a switch that runs only
    when needed would make the dry run show another list than the run performs (checking out
    the branch one is on changes nothing)."""
    return [ctx.git.command("checkout", "--quiet", branch)]


def link_base(ctx: ReleaseContext) -> str | None:
    """The repository's web address CHANGELOG.md's link references point into; none without
    GitHub. Every step that writes them (the release's changelog, a hotfix's forward merge, a
    rollback's yank) writes the project's own, also in a rehearsal whose GitHub is a
    stand-in (:attr:`ReleaseContext.published_at`)."""
    repository, api = ctx.published_at or (ctx.config.github_repository, ctx.config.github_api_url)
    if not repository:
        return None
    return keepachangelog.repository_url(repository, api)


def retarget_manifest(text: str, image: str, tag: str) -> str:
    """*text* with every ``image: …/<name>:<tag>`` reference replaced by ``IMAGE:TAG``.

    The whole reference is rewritten, host and path included: a manifest names the image that
    was pushed, also when ``--set image=…`` points at another registry than the file did.
    """
    name = re.escape(image.rsplit("/", 1)[-1])
    pattern = rf"(image:[ \t]*)[\w.:/-]*?(?<![\w.-]){name}:[\w.+-]+"
    return re.sub(pattern, lambda m: f"{m.group(1)}{image}:{tag}", text)


def stale_manifests(ctx: ReleaseContext, branch: str, tag: str) -> list[str]:
    """The deploy manifests on *branch* whose image tag is not *tag* yet."""
    stale = []
    for path in ctx.config.deploy_manifests:
        text = ctx.git.show(branch, path)
        if text is None:
            raise ReleaseError(
                f"deploy manifest {path} is not on {branch}: fix [tool.release] deploy_manifests"
            )
        if retarget_manifest(text, ctx.config.image, tag) != text:
            stale.append(path)
    return stale


def retarget_manifests(
    ctx: ReleaseContext, paths: list[str], tag: str, message: str
) -> list[Action]:
    """Edit *paths* in the work tree to image tag *tag*, and commit them with *message*."""

    def edit() -> None:
        for path in paths:
            file = ctx.repo / path
            text = file.read_text(encoding="utf-8")
            file.write_text(retarget_manifest(text, ctx.config.image, tag), encoding="utf-8")

    return [
        Call(f"edit {', '.join(paths)}: image tag -> {tag}", edit),
        ctx.git.command("add", *paths),
        ctx.git.command("commit", "--quiet", "-m", message),
    ]


def merge_conflicted(ctx: ReleaseContext, path: str, *, ours: bool) -> None:
    """Resolve *path*'s merge conflict: a 3-way merge of its index stages in which one side
    (*ours*: the checked-out branch) wins only the hunks both sides changed."""
    stages = [ctx.git.show(f":{n}", path) or "" for n in (2, 1, 3)]
    with tempfile.TemporaryDirectory() as tmp:
        files = [Path(tmp, name) for name in ("ours", "base", "theirs")]
        for file, text in zip(files, stages, strict=True):
            file.write_text(text, encoding="utf-8")
        side = "--ours" if ours else "--theirs"
        merged = read(["git", "merge-file", "-p", side, *map(str, files)], cwd=ctx.repo).stdout
    (ctx.repo / path).write_text(merged, encoding="utf-8")
    ctx.git("add", "--", path)
