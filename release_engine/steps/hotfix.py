"""Hotfix: a branch for a critical fix, cut from the release tag it fixes.

The release process (docs/RELEASING.md): ``git checkout -b hotfix/v1.2.4 v1.2.3``, apply the
fix and update the version to 1.2.4, then follow the release steps.
``inv release --version 1.2.4`` run on that branch releases from it: merged back into the
hotfix branch, never moving ``latest`` when a newer line exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import load_config
from ..errors import PreflightError, UsageError
from ..tools.git import Git
from ..version import Version, parse_version

__all__ = ["Hotfix", "start_hotfix"]


@dataclass(frozen=True)
class Hotfix:
    base_tag: str
    version: Version
    branch: str


def plan_hotfix(repo: Path, from_tag: str) -> Hotfix:
    """Work out the hotfix branch for *from_tag*, checking everything; change nothing."""
    config = load_config(repo)
    # The tag (v1.2.3) or its version alone (1.2.3): both name one release.
    if not from_tag.startswith(config.tag_prefix) and from_tag[:1].isdigit():
        from_tag = f"{config.tag_prefix}{from_tag}"
    if not from_tag.startswith(config.tag_prefix):
        raise UsageError(
            f"--from takes a release tag such as {config.tag_prefix}1.2.3, not {from_tag!r}"
        )
    base = parse_version(from_tag[len(config.tag_prefix) :])
    if base.is_prerelease:
        raise UsageError(f"{from_tag} is a pre-release: hotfix a stable release instead")
    version = Version(base.major, base.minor, base.patch + 1)
    tag = version.tag(config.tag_prefix)
    branch = f"hotfix/{tag}"
    git = Git(repo)
    problems = []
    if git.tag_info(from_tag) is None:
        problems.append(f"tag {from_tag} does not exist here: git fetch --tags, or check the name")
    if git.tag_info(tag) is not None or f"refs/tags/{tag}" in git.remote_refs(config.remote):
        problems.append(f"{tag} is already released: hotfix the newest release of the line")
    if git.branch_exists(branch):
        problems.append(f"branch {branch} already exists: git checkout {branch}")
    if git.status_porcelain():
        problems.append("the working tree is not clean: commit or stash your changes")
    if problems:
        raise PreflightError(problems)
    return Hotfix(from_tag, version, branch)


def start_hotfix(repo: Path, from_tag: str) -> Hotfix:
    """Create ``hotfix/vX.Y.Z+1`` from *from_tag* and check it out."""
    hotfix = plan_hotfix(repo, from_tag)
    Git(repo)("checkout", "--quiet", "-b", hotfix.branch, hotfix.base_tag)
    return hotfix
