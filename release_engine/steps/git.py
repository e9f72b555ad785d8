"""The release's git steps: branch, bump, changelog, commit, tag, merge, push."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from ..config import tomllib
from ..plan import Observation
from ..proc import run
from ..tools import changelog

if TYPE_CHECKING:
    from ..context import ReleaseContext

__all__ = ["Branch", "Bump", "Changelog", "Commit", "Merge", "Push", "Tag", "release_file"]


def release_file(ctx: ReleaseContext, path: str) -> str | None:
    """*path* as the release branch has it: its working tree when checked out."""
    if ctx.git.current_branch() == ctx.release_branch:
        file = ctx.repo / path
        return file.read_text(encoding="utf-8") if file.exists() else None
    if ctx.git.branch_exists(ctx.release_branch):
        return ctx.git.show(ctx.release_branch, path)
    return None


def _checkout(ctx: ReleaseContext, branch: str) -> None:
    if ctx.git.current_branch() != branch:
        ctx.git("checkout", "--quiet", branch)


def release_commit_made(ctx: ReleaseContext) -> bool:
    if ctx.git.tag_info(ctx.tag) is not None:
        return True
    return (
        ctx.git.branch_exists(ctx.release_branch)
        and ctx.git.subject(ctx.release_branch) == f"Release {ctx.tag}"
    )


class Branch:
    name, title = "branch", "Create release branch"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if ctx.git.branch_exists(ctx.release_branch):
            return Observation.done(ctx.release_branch)
        if ctx.git.tag_info(ctx.tag) is not None:
            return Observation.done(f"{ctx.tag} exists; branch no longer needed locally")
        return Observation.pending(f"{ctx.release_branch} from {ctx.base_branch}")

    def act(self, ctx: ReleaseContext) -> None:
        ctx.git("checkout", "--quiet", "-b", ctx.release_branch, ctx.base_branch)

    def preview(self, ctx: ReleaseContext) -> list[str]:
        return [f"git checkout -b {ctx.release_branch} {ctx.base_branch}"]


class Bump:
    name, title = "bump", "Update version numbers"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if release_commit_made(ctx):
            return Observation.done(f"committed at {ctx.version}")
        text = release_file(ctx, "pyproject.toml")
        if text is None:
            return Observation.pending(f"{ctx.config.current_version} -> {ctx.version}")
        current = str(tomllib.loads(text)["tool"]["bumpversion"]["current_version"])
        if current == ctx.version.pep440:
            return Observation.done(f"version files at {ctx.version}")
        return Observation.pending(f"{current} -> {ctx.version}")

    def _command(self, ctx: ReleaseContext) -> list[str]:
        return [
            sys.executable,
            "-m",
            "bumpversion",
            "bump",
            "--allow-dirty",
            "--new-version",
            ctx.version.pep440,
        ]

    def act(self, ctx: ReleaseContext) -> None:
        _checkout(ctx, ctx.release_branch)
        run(self._command(ctx), cwd=ctx.repo)

    def preview(self, ctx: ReleaseContext) -> list[str]:
        files = ", ".join(ctx.config.version_files)
        return [f"bump-my-version bump --allow-dirty --new-version {ctx.version}  # {files}"]


class Changelog:
    name, title = "changelog", "Update the changelog"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if release_commit_made(ctx):
            return Observation.done("committed")
        text = release_file(ctx, ctx.config.changelog_file)
        if text is not None and changelog.extract_section(text, ctx.version.pep440) is not None:
            return Observation.done(f"section [{ctx.version}] written")
        return Observation.pending(
            f"section [{ctx.version}] - {ctx.date} from {ctx.config.fragments_dir}/"
        )

    def act(self, ctx: ReleaseContext) -> None:
        _checkout(ctx, ctx.release_branch)
        changelog.build(ctx.repo, ctx.version.pep440, ctx.date)

    def preview(self, ctx: ReleaseContext) -> list[str]:
        return [f"towncrier build --yes --version {ctx.version} --date {ctx.date}"]


class Commit:
    name, title = "commit", "Commit changes"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if release_commit_made(ctx):
            return Observation.done(f"Release {ctx.tag}")
        return Observation.pending(f"Release {ctx.tag}")

    def act(self, ctx: ReleaseContext) -> None:
        _checkout(ctx, ctx.release_branch)
        ctx.git("add", "--all")
        ctx.git("commit", "--quiet", "-m", f"Release {ctx.tag}")

    def preview(self, ctx: ReleaseContext) -> list[str]:
        return ["git add --all", f'git commit -m "Release {ctx.tag}"']


class Tag:
    name, title = "tag", "Create git tag"

    def observe(self, ctx: ReleaseContext) -> Observation:
        info = ctx.git.tag_info(ctx.tag)
        if info is None:
            return Observation.pending(f"annotated {ctx.tag}")
        message = f"Release version {ctx.version}"
        if not info.annotated or info.message != message:
            return Observation.conflict(
                f"tag {ctx.tag} exists but is not the annotated tag {message!r} this release makes"
            )
        if ctx.git.subject(info.commit) != f"Release {ctx.tag}":
            return Observation.conflict(
                f"tag {ctx.tag} points at {info.commit[:12]}, not at this release's commit"
            )
        return Observation.done(f"{ctx.tag} -> {info.commit[:12]}")

    def act(self, ctx: ReleaseContext) -> None:
        ctx.git("tag", "-a", ctx.tag, "-m", f"Release version {ctx.version}", ctx.release_branch)

    def preview(self, ctx: ReleaseContext) -> list[str]:
        return [f'git tag -a {ctx.tag} -m "Release version {ctx.version}" {ctx.release_branch}']


class Merge:
    name, title = "merge", "Merge to main"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if ctx.git.tag_info(ctx.tag) is not None and ctx.git.is_ancestor(ctx.tag, ctx.base_branch):
            return Observation.done(f"{ctx.base_branch} contains {ctx.tag}")
        return Observation.pending(f"merge --no-ff {ctx.release_branch} into {ctx.base_branch}")

    def act(self, ctx: ReleaseContext) -> None:
        _checkout(ctx, ctx.base_branch)
        ctx.git(
            "merge",
            "--quiet",
            "--no-ff",
            "-m",
            f"Merge {ctx.release_branch} into {ctx.base_branch}",
            ctx.release_branch,
        )

    def preview(self, ctx: ReleaseContext) -> list[str]:
        return [f"git checkout {ctx.base_branch}", f"git merge --no-ff {ctx.release_branch}"]


class Push:
    name, title = "push", "Push branch, tag and main"

    def _refspecs(self, ctx: ReleaseContext) -> list[str]:
        return [
            f"refs/heads/{ctx.base_branch}",
            f"refs/heads/{ctx.release_branch}",
            f"refs/tags/{ctx.tag}",
        ]

    def observe(self, ctx: ReleaseContext) -> Observation:
        remote = ctx.git.remote_refs(ctx.config.remote)
        local_tag = ctx.git.tag_info(ctx.tag)
        remote_tag = remote.get(f"refs/tags/{ctx.tag}")
        if remote_tag is not None and (local_tag is None or remote_tag != local_tag.object):
            return Observation.conflict(
                f"{ctx.config.remote} has a tag {ctx.tag} that is not this release's"
            )
        remote_base = remote.get(f"refs/heads/{ctx.base_branch}")
        if (
            remote_tag is not None
            and remote_base
            and ctx.git.rev(remote_base)
            and ctx.git.is_ancestor(ctx.tag, remote_base)
        ):
            return Observation.done(f"{ctx.tag} and {ctx.base_branch} on {ctx.config.remote}")
        if remote_base and not (
            ctx.git.rev(remote_base) and ctx.git.is_ancestor(remote_base, ctx.base_branch)
        ):
            return Observation.conflict(
                f"{ctx.base_branch} on {ctx.config.remote} moved since the release started"
            )
        return Observation.pending(f"atomic push to {ctx.config.remote}")

    def act(self, ctx: ReleaseContext) -> None:
        ctx.git("push", "--quiet", "--atomic", ctx.config.remote, *self._refspecs(ctx))

    def preview(self, ctx: ReleaseContext) -> list[str]:
        return [f"git push --atomic {ctx.config.remote} " + " ".join(self._refspecs(ctx))]
