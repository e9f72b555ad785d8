"""The release's build step: sdist and wheel, checked, from a clean export of the tag.

The other publishing steps live with the system they publish to: the upload in
:mod:`release_engine.remotes.index.upload`, the image and its push in
:mod:`release_engine.remotes.registry.image`, the GitHub release in
:mod:`release_engine.remotes.github.release`.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ReleaseError
from ..plan import Action, Call, Observation, StepBase
from ..proc import Command
from ..remotes import index
from ..remotes.index.prebuilt import compare, use_prebuilt
from ..tools.git import extract_archive
from .common import artifacts, tag_commit

if TYPE_CHECKING:
    from ..context import ReleaseContext

__all__ = ["Build"]


class Build(StepBase):
    """sdist and wheel from a clean export of the tag, checked by the index's strict check
    (:func:`~release_engine.remotes.index.check_command`).

    They are built and checked in a staging directory and only then moved to the dist
    directory in one rename: files there were checked, and a run killed while building or
    checking leaves none there, so the next run builds again (bit-identical, from the tag).
    """

    name, title = "build", "Build sdist and wheel"

    def observe(self, ctx: ReleaseContext) -> Observation:
        files = artifacts(ctx)
        if files and ctx.options.prebuilt:  # built before: the prebuilt ones must be these
            try:
                compare(files, Path(ctx.options.prebuilt), ctx.tag)
            except ReleaseError as exc:
                return Observation.conflict(str(exc))
        if files:
            return Observation.done(", ".join(p.name for p in files) + " (checked)")
        return Observation.pending(f"from a clean export of {ctx.tag}")

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        src, dist, archive = ctx.state_dir / "src", ctx.dist_dir, ctx.state_dir / "src.tar"
        staged = ctx.state_dir / "dist-unchecked"

        def empty() -> None:
            for path in (src, dist, staged):
                shutil.rmtree(path, ignore_errors=True)
            archive.parent.mkdir(parents=True, exist_ok=True)

        def unpack() -> None:
            extract_archive(archive, src)
            archive.unlink()

        def exactly_two() -> None:
            if not index.artifacts(staged, ctx.config.package, ctx.version.pep440):
                found = sorted(p.name for p in staged.iterdir()) if staged.is_dir() else []
                raise ReleaseError(
                    f"the build made {found}, not exactly one sdist and one wheel for "
                    f"{ctx.config.package} {ctx.version}: check [tool.release] package"
                )

        _, epoch = tag_commit(ctx)
        env = {"SOURCE_DATE_EPOCH": epoch}
        installer = []
        if shutil.which("uv"):
            installer = ["--installer", "uv"]
            # build's isolated environments are used once: bytecode compiled into them (as
            # UV_COMPILE_BYTECODE=1 in the environment would) is never read.
            env["UV_COMPILE_BYTECODE"] = "0"
        build = [sys.executable, "-m", "build", *installer, "--outdir", str(staged), str(src)]
        return [
            Call(f"empty {src}, {staged} and {dist}", empty),
            ctx.git.command("archive", "--format=tar", "-o", str(archive), ctx.tag),
            Call(f"extract {archive.name} into {src} (links and absolute paths refused)", unpack),
            Command.of(*build, cwd=src, env=env, long=True),
            Call(f"check that {staged} holds one sdist and one wheel", exactly_two),
            index.check_command(staged),
            *self._prebuilt(ctx, staged),
            Call(f"move the checked files to {dist}", lambda: staged.rename(dist)),
        ]

    @staticmethod
    def _prebuilt(ctx: ReleaseContext, staged: Path) -> list[Action]:
        """With ``--prebuilt DIR``: its files compared with the tag's build, then used
        (:mod:`.prebuilt`)."""
        if not ctx.options.prebuilt:
            return []
        directory = Path(ctx.options.prebuilt)

        def use() -> None:
            built = index.artifacts(staged, ctx.config.package, ctx.version.pep440)
            use_prebuilt(built, directory, ctx.tag)

        what = f"compare the sha256 of {directory}'s sdist and wheel with these; use them"
        return [Call(what, use)]
