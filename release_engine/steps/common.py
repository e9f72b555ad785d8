"""What several steps share: the built files, the release notes, branch switches, manifests."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ReleaseError
from ..plan import Action, Call
from ..proc import Command, read
from ..tools import changelog, index, keepachangelog

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
    "without_waivers",
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


#: What parts a GitHub release's notes from their footer (the waivers the publishing run said).
FOOTER_RULE = "\n\n---\n\n"
_FOOTER = f"{FOOTER_RULE}Released with pre-release gates waived: "
#: The pre-release gates a flag waives, as the GitHub release's footer names them.
GATE_WAIVERS = {"ci": "--skip-ci", "review": "--skip-review", "prerelease": "--skip-prerelease"}


def github_notes(ctx: ReleaseContext) -> str:
    """The GitHub release's body: the CHANGELOG section, and a footer naming every pre-release
    gate this run waived (none is waived silently)."""
    from ..report import waived_checks

    waived = [f"{name} ({GATE_WAIVERS[name]})" for name in waived_checks(ctx.options)
              if name in GATE_WAIVERS]  # fmt: skip
    notes = release_notes(ctx)
    if not waived:
        return notes
    return f"{notes.rstrip()}{_FOOTER}{', '.join(waived)}.\n"


def without_waivers(body: str) -> str:
    """A GitHub release's *body* without the footer naming waived gates: what the run that
    published it waived stays said, whatever a later run (a status, a resume) was given."""
    return body.split(FOOTER_RULE, 1)[0]


def github_absent(ctx: ReleaseContext) -> str:
    """Why this run has no GitHub client: no repository configured, or no token for it."""
    if not ctx.config.github_repository:
        return "no GitHub repository configured"
    return f"GITHUB_TOKEN is not set (GitHub repository {ctx.config.github_repository})"


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
