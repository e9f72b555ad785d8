"""What several steps share: the built files, the release notes, branch switches, manifests."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ReleaseError
from ..plan import Action, Call
from ..proc import Command, read
from ..tools import changelog, index

if TYPE_CHECKING:
    from ..context import ReleaseContext

__all__ = [
    "artifacts",
    "checkout",
    "github_absent",
    "merge_conflicted",
    "release_notes",
    "retarget_manifest",
    "retarget_manifests",
    "stale_manifests",
]


def artifacts(ctx: ReleaseContext) -> list[Path]:
    """The built sdist and wheel, when exactly those two are in the dist directory."""
    return index.artifacts(ctx.dist_dir, ctx.config.package, ctx.version.pep440)


def release_notes(ctx: ReleaseContext) -> str:
    """This version's CHANGELOG section, read from the tag."""
    text = ctx.git.show(ctx.tag, ctx.config.changelog_file) or ""
    section = changelog.extract_section(text, ctx.version.pep440)
    if section is None:
        raise ReleaseError(
            f"{ctx.config.changelog_file} at {ctx.tag} has no section [{ctx.version}]"
        )
    return section


def github_absent(ctx: ReleaseContext) -> str:
    """Why this run has no GitHub client: no repository configured, or no token for it."""
    if not ctx.config.github_repository:
        return "no GitHub repository configured"
    return f"GITHUB_TOKEN is not set (GitHub repository {ctx.config.github_repository})"


def checkout(ctx: ReleaseContext, branch: str) -> list[Command]:
    """The switch to *branch*, if the work tree is not on it already."""
    if ctx.git.current_branch() == branch:
        return []
    return [ctx.git.command("checkout", "--quiet", branch)]


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
