"""The version files, moved by bump-my-version as ``[tool.bumpversion]`` describes them."""

from __future__ import annotations

import sys
from pathlib import Path

from ..proc import Command

__all__ = ["bump_command"]


def bump_command(repo: Path, version: str, *, dry_run: bool = False) -> Command:
    """``bump-my-version bump --new-version VERSION`` in *repo* (``--dry-run``: change nothing)."""
    argv = [sys.executable, "-m", "bumpversion", "bump"]
    argv += ["--dry-run"] if dry_run else []
    return Command.of(*argv, "--allow-dirty", "--new-version", version, cwd=repo)
