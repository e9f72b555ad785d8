"""The commits a release brings to its base branch: what the review gate asks GitHub about.

They are read from git, not from GitHub: every commit of the released one that no release tag
holds (``git rev-list SHA --not TAGS``), so the range starts at the previous release of the
line, forward-merged hotfixes included, and at the root before a first release. Left out are
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

from .version import versions_from_tags

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
    tags = [
        tag
        for tag in ctx.git.tags()
        if tag.startswith(prefix) and versions_from_tags([tag], prefix) and tag != ctx.tag
    ]
    exclude = [f"^{tag}^{{commit}}" for tag in tags]
    out = ctx.git.read("rev-list", "--topo-order", "--format=%P%x00%ct%x00%s", sha, *exclude)
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


def merged_side(ctx: ReleaseContext, merge: Commit) -> set[str]:
    """The commits a merge commit brought in: those of its other parents not in its first."""
    if len(merge.parents) < 2:
        return set()
    others = merge.parents[1:]
    found = ctx.git.read("rev-list", *others, f"^{merge.parents[0]}")
    return set(found.split())
