"""The release's git steps: branch, bump, changelog, commit, tag, merge, push."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..plan import Action, Call, Observation, ReleaseNotes, StepBase
from ..rules import bumpversion_table, foreign_tag, release_subject, tag_message
from ..tools import changelog, keepachangelog
from ..tools.bump import bump_command
from .common import checkout, link_base
from .landing import land, merged_pull, pull_request_mode, remote_main

if TYPE_CHECKING:
    from ..context import ReleaseContext

__all__ = ["Branch", "Bump", "Changelog", "Commit", "Merge", "Push", "Tag", "release_commit_made"]


def release_file(ctx: ReleaseContext, path: str) -> str | None:
    """*path* as the release branch has it: its working tree when checked out."""
    if ctx.git.current_branch() == ctx.release_branch:
        file = ctx.repo / path
        return file.read_text(encoding="utf-8") if file.exists() else None
    if ctx.git.branch_exists(ctx.release_branch):
        return ctx.git.show(ctx.release_branch, path)
    return None


def release_commit_made(ctx: ReleaseContext) -> bool:
    if ctx.git.tag_info(ctx.tag) is not None:
        return True
    return ctx.git.branch_exists(ctx.release_branch) and ctx.git.subject(
        ctx.release_branch
    ) == release_subject(ctx.tag)


class Branch(StepBase):
    name, title = "branch", "Create release branch"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if ctx.git.branch_exists(ctx.release_branch):
            return Observation.done(ctx.release_branch)
        if ctx.git.tag_info(ctx.tag) is not None:
            return Observation.done(f"{ctx.tag} exists; branch no longer needed locally")
        return Observation.pending(f"{ctx.release_branch} from {ctx.base_branch}")

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        return [ctx.git.command("checkout", "--quiet", "-b", ctx.release_branch, ctx.base_branch)]


class Bump(StepBase):
    name, title = "bump", "Update version numbers"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if release_commit_made(ctx):
            return Observation.done(f"committed at {ctx.version}")
        text = release_file(ctx, "pyproject.toml")
        if text is None:
            return Observation.pending(f"{ctx.config.current_version} -> {ctx.version}")
        current = str(bumpversion_table(text).get("current_version"))
        if current == ctx.version.pep440:
            return Observation.done(f"version files at {ctx.version}")
        return Observation.pending(f"{current} -> {ctx.version}")

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        return [*checkout(ctx, ctx.release_branch), bump_command(ctx.repo, ctx.version.pep440)]


def _links_stale(ctx: ReleaseContext, text: str) -> bool:
    url = link_base(ctx)
    return url is not None and keepachangelog.update_links(text, url, ctx.config.tag_prefix) != text


class Changelog(StepBase):
    name, title = "changelog", "Update the changelog"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if release_commit_made(ctx):
            tagged = ctx.git.show(ctx.tag, ctx.config.changelog_file) or ""
            section = changelog.extract_section(tagged, ctx.version.pep440)
            return Observation.done("committed", [ReleaseNotes(section)] if section else [])
        text = release_file(ctx, ctx.config.changelog_file)
        if text is None or changelog.extract_section(text, ctx.version.pep440) is None:
            return Observation.pending(
                f"section [{ctx.version}] - {ctx.date} from {ctx.config.fragments_dir}/"
            )
        if _links_stale(ctx, text):
            return Observation.pending(f"link references for [{ctx.version}] and [Unreleased]")
        return Observation.done(f"section [{ctx.version}] written")

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        actions: list[Action] = [*checkout(ctx, ctx.release_branch)]
        text = release_file(ctx, ctx.config.changelog_file)
        if text is None or changelog.extract_section(text, ctx.version.pep440) is None:
            actions.append(changelog.build_command(ctx.repo, ctx.version.pep440, ctx.date))
        url = link_base(ctx)
        if url is not None:
            file = ctx.repo / ctx.config.changelog_file

            def relink() -> None:
                text = file.read_text(encoding="utf-8")
                updated = keepachangelog.update_links(text, url, ctx.config.tag_prefix)
                file.write_text(updated, encoding="utf-8")

            actions.append(
                Call(
                    f"rewrite the link references of {ctx.config.changelog_file}: "
                    f"[Unreleased] and every version, compared in {url}",
                    relink,
                )
            )
        return actions


class Commit(StepBase):
    name, title = "commit", "Commit changes"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if release_commit_made(ctx):
            return Observation.done(release_subject(ctx.tag))
        return Observation.pending(release_subject(ctx.tag))

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        return [
            *checkout(ctx, ctx.release_branch),
            ctx.git.command("add", "--all"),
            ctx.git.command("commit", "--quiet", "-m", release_subject(ctx.tag)),
        ]


class Tag(StepBase):
    name, title = "tag", "Create git tag"

    def observe(self, ctx: ReleaseContext) -> Observation:
        info = ctx.git.tag_info(ctx.tag)
        if info is None:
            return Observation.pending(f"annotated {ctx.tag}")
        why = foreign_tag(ctx)
        if why is not None:
            return Observation.conflict(f"tag {ctx.tag} exists but is {why}")
        return Observation.done(f"{ctx.tag} -> {info.commit[:12]}")

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        message = tag_message(ctx.version)
        return [ctx.git.command("tag", "-a", ctx.tag, "-m", message, ctx.release_branch)]


class Merge(StepBase):
    """Merge the release branch into main: locally (pushed by step push), or with
    ``merge = "pull-request"`` through a pull request from the release branch, merged on
    GitHub (the release branch is pushed for it; the tag follows at step push)."""

    name, title = "merge", "Merge to main"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if pull_request_mode(ctx, ctx.base_branch):
            return self._observe_pull(ctx)
        if ctx.git.tag_info(ctx.tag) is not None and ctx.git.is_ancestor(ctx.tag, ctx.base_branch):
            return Observation.done(f"{ctx.base_branch} contains {ctx.tag}")
        return Observation.pending(f"merge --no-ff {ctx.release_branch} into {ctx.base_branch}")

    def _observe_pull(self, ctx: ReleaseContext) -> Observation:
        main, info = ctx.config.main_branch, ctx.git.tag_info(ctx.tag)
        pending = Observation.pending(f"pull request {ctx.release_branch} -> {main}")
        if info is None:
            return pending
        there = remote_main(ctx)
        if there is not None and ctx.git.is_ancestor(ctx.tag, there):
            return Observation.done(f"{main} on {ctx.config.remote} contains {ctx.tag}")
        pull = merged_pull(ctx, ctx.release_branch, info.commit)
        if pull is not None:
            return Observation.done(f"merged through pull request #{pull.number}")
        return pending

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        if pull_request_mode(ctx, ctx.base_branch):
            branch = ctx.release_branch
            return land(ctx, source=branch, branch=branch, title=release_subject(ctx.tag))
        message = f"Merge {ctx.release_branch} into {ctx.base_branch}"
        merge = ("merge", "--quiet", "--no-ff", "-m", message, ctx.release_branch)
        return [*checkout(ctx, ctx.base_branch), ctx.git.command(*merge)]


class Push(StepBase):
    """Push the tag, the release branch and main atomically; with ``merge = "pull-request"``
    main got the release through its pull request (step merge): the tag and branch only."""

    name, title = "push", "Push branch, tag and main"

    def observe(self, ctx: ReleaseContext) -> Observation:
        remote = ctx.git.remote_refs(ctx.config.remote)
        local_tag = ctx.git.tag_info(ctx.tag)
        remote_tag = remote.get(f"refs/tags/{ctx.tag}")
        if remote_tag is not None and (local_tag is None or remote_tag != local_tag.object):
            return Observation.conflict(
                f"{ctx.config.remote} has a tag {ctx.tag} that is not this release's"
            )
        if pull_request_mode(ctx, ctx.base_branch):
            if remote_tag is not None:
                return Observation.done(f"{ctx.tag} on {ctx.config.remote}")
            return Observation.pending(f"atomic push of {ctx.tag} and {ctx.release_branch}")
        remote_base = remote.get(f"refs/heads/{ctx.base_branch}", "")
        known_base = bool(remote_base) and ctx.git.rev(remote_base) is not None
        if remote_tag is not None and known_base and ctx.git.is_ancestor(ctx.tag, remote_base):
            return Observation.done(f"{ctx.tag} and {ctx.base_branch} on {ctx.config.remote}")
        if remote_base and not (known_base and ctx.git.is_ancestor(remote_base, ctx.base_branch)):
            return Observation.conflict(
                f"{ctx.base_branch} on {ctx.config.remote} moved since the release started"
            )
        return Observation.pending(f"atomic push to {ctx.config.remote}")

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        refspecs = [
            f"refs/heads/{ctx.base_branch}",
            f"refs/heads/{ctx.release_branch}",
            f"refs/tags/{ctx.tag}",
        ]
        if pull_request_mode(ctx, ctx.base_branch):  # main is protected: it took a pull request
            refspecs = refspecs[1:]
        return [ctx.git.command("push", "--quiet", "--atomic", ctx.config.remote, *refspecs)]
