"""The commits a release brings to its base branch: what the review gate asks GitHub about.

They are read from git, not from GitHub: every commit of the released one that no release tag
holds (``git rev-list SHA --not TAGS``), so the range starts at the previous release of the
line, forward-merged hotfixes included, and at the root before a first release. That walk is
remembered by the commits' ids (:mod:`release_engine.tools.history`). Left out are
the release machinery's own commits of earlier releases, which no person reviews: the merge
of a release (or of its pull request), its deployment, next-cycle and rollback commits. One is
known by both its subject (the one the engine writes, naming a release tag) and its content:
it changes nothing but the release's own files (version files, changelog, fragments,
deploy manifests). A commit that only says it is one is asked about like any other.
"""

from __future__ import annotations

__all__ = ["Commit", "merged_side", "released_commits"]

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .tools import history
from .version import is_version_tag

if TYPE_CHECKING:
    from .context import ReleaseContext


@dataclass(frozen=True)
class Commit:
    sha: str
    subject: str
    parents: tuple[str, ...]
    time: int = 0  # the committer date, in seconds since the epoch


def _own_subjects(prefix: str, main: str) -> re.Pattern[str]:
    tag = re.escape(prefix) + r"\d[\w.+-]*"
    own = [
        rf"Merge release/{tag} into {re.escape(main)}",
        rf"Merge hotfix {tag} into {re.escape(main)}",
        rf"Merge pull request #\d+ from \S+/release/{tag}(-\w+)?",
        rf"Deploy {tag}( \(rollback of {tag}\))?",
        r"Start \S+ development",
        rf"Roll back {tag} to {tag}",
        rf"Mark {tag} yanked in the changelog",
    ]
    return re.compile("|".join(f"(?:{pattern})" for pattern in own))


def _own_files(ctx: ReleaseContext, commit: Commit) -> bool:
    """Whether *commit* changes only the release's own files (against its first parent)."""
    if not commit.parents:
        return False
    changed = ctx.git.read("diff", "--name-only", commit.parents[0], commit.sha).splitlines()
    config = ctx.config
    own = (*config.version_files, config.changelog_file, *config.deploy_manifests)
    return all(path in own or path.startswith(config.fragments_dir + "/") for path in changed)


def released_commits(ctx: ReleaseContext, sha: str) -> tuple[list[Commit], list[Commit]]:
    """The commits *sha* brings since the previous release (newest first, every child before
    its parents), and apart from them the machinery's own commits of earlier releases."""
    prefix = ctx.config.tag_prefix
    commits_of = _tag_commits(ctx)
    tags = [tag for tag in commits_of if is_version_tag(tag, prefix) and tag != ctx.tag]
    # Remembered by the commits' ids (tools.history): a long history is walked once.
    out = history.walk(ctx.git, sha, [commits_of[t] for t in tags], "--format=%P%x00%ct%x00%s")
    commits: list[Commit] = []
    lines = iter(out.splitlines())
    for header in lines:  # "commit SHA", then "PARENTS\0TIME\0SUBJECT"
        parents, _, rest = next(lines, "").partition("\0")
        time, _, subject = rest.partition("\0")
        commit = Commit(header.split()[-1], subject, tuple(parents.split()), int(time or 0))
        commits.append(commit)
    own_subject = _own_subjects(prefix, ctx.config.main_branch)
    ours = [c for c in commits if own_subject.fullmatch(c.subject) and _own_files(ctx, c)]
    return [c for c in commits if c not in ours], ours


def _tag_commits(ctx: ReleaseContext) -> dict[str, str]:
    """Each tag's commit id: an annotated tag's peeled one, as ``packed-refs`` keeps it."""
    out = ctx.git.read("show-ref", "--dereference", "--tags", check=False)
    found = {}
    for line in out.splitlines():
        sha, _, ref = line.partition(" ")
        name = ref.removeprefix("refs/tags/")
        if name.endswith("^{}"):
            found[name.removesuffix("^{}")] = sha  # the tag's own commit, after its object
        else:
            found.setdefault(name, sha)
    return found


def merged_side(ctx: ReleaseContext, merge: Commit) -> set[str]:
    """The commits a merge commit brought in: those of its other parents not in its first."""
    if len(merge.parents) < 2:
        return set()
    others = merge.parents[1:]
    found = ctx.git.read("rev-list", *others, f"^{merge.parents[0]}")
    return set(found.split())
