"""The release's publishing steps: build, image, image push, GitHub release (upload: .upload)."""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ReleaseError
from ..plan import (
    Action,
    Call,
    ImageDigest,
    Observation,
    StepBase,
)
from ..proc import Command
from ..tools import index
from ..tools.container import build_metadata, prepare_context
from ..tools.git import extract_archive
from .common import artifacts, github_absent
from .github_release import observe_release, release_actions, release_body
from .image_repro import check_rebuilt, lock_file, rebuilt_mismatch
from .prebuilt import compare, use_prebuilt

if TYPE_CHECKING:
    from ..context import ReleaseContext

__all__ = ["Build", "GitHubRelease", "Image", "ImagePush", "release_body"]

VERSION_LABEL = "org.opencontainers.image.version"


def _tag_commit(ctx: ReleaseContext) -> tuple[str, str]:
    """The tagged commit and its timestamp; placeholders while the tag does not exist (dry run)."""
    if ctx.git.tag_info(ctx.tag) is None:
        return f"<commit of {ctx.tag}>", f"<commit time of {ctx.tag}>"
    return ctx.git.rev(ctx.tag) or "", ctx.git.commit_timestamp(ctx.tag)


class Build(StepBase):
    """sdist and wheel from a clean export of the tag, checked by ``twine check --strict``.

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

        _, epoch = _tag_commit(ctx)
        installer = ["--installer", "uv"] if shutil.which("uv") else []
        build = [sys.executable, "-m", "build", *installer, "--outdir", str(staged), str(src)]
        return [
            Call(f"empty {src}, {staged} and {dist}", empty),
            ctx.git.command("archive", "--format=tar", "-o", str(archive), ctx.tag),
            Call(f"extract {archive.name} into {src} (links and absolute paths refused)", unpack),
            Command.of(*build, cwd=src, env={"SOURCE_DATE_EPOCH": epoch}, long=True),
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


class Image(StepBase):
    name, title = "image", "Build container image"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if ctx.container is None:
            return Observation.skipped(ctx.container_reason)
        engine, ref = ctx.container, f"{ctx.config.image}:{ctx.tag}"
        latest = f"{ctx.config.image}:latest"
        found = engine.inspect_each([ref, latest] if ctx.is_newest else [ref])  # one look
        if engine.labels_of(found[ref]).get(VERSION_LABEL) != ctx.version.pep440:
            # A rerun on another machine (an empty image store) builds again, even what the
            # registry has: image-push then compares the image IDs (.image_repro).
            return Observation.pending(" + ".join(ctx.image_tags))
        image_id = engine.id_of(found[ref])
        if ctx.is_newest and engine.id_of(found[latest]) != image_id:
            return Observation.pending("latest")
        return Observation.done(f"{ref} ({(image_id or '')[:12]})")

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        if ctx.container is None:
            return []
        context = ctx.state_dir / "image-context"

        revision, epoch = _tag_commit(ctx)
        created = (
            dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).isoformat()
            if epoch.isdigit()
            else f"<time of {ctx.tag}>"
        )
        args = build_metadata(
            ctx.version.pep440,
            revision,
            created=created,
            source=ctx.git.remote_url(ctx.config.remote) or "",
            base_image=ctx.config.base_image,
        )

        def prepare() -> None:
            files = artifacts(ctx)
            if not files:
                raise ReleaseError(f"no built wheel for {ctx.version} in {ctx.dist_dir}")
            dockerfile = ctx.state_dir / "src" / ctx.config.dockerfile
            lock = lock_file(ctx)  # the tag's uv.lock, exported with hashes; an asset too
            if lock is None:
                raise ReleaseError(f"no clean export of {ctx.tag} in {ctx.state_dir / 'src'}")
            prepare_context(files[1], dockerfile, context, args, lock=lock.read_text())

        build = ctx.container.build_command(
            context,
            tags=[f"{ctx.config.image}:{tag}" for tag in ctx.image_tags],
            build_args=args,
            iidfile=ctx.state_dir / "image.iid",
            timestamp=epoch if epoch.isdigit() else f"<commit time of {ctx.tag}>",
        )
        ref = f"{ctx.config.image}:{ctx.tag}"
        check = f"compare the image ID with the config digest of {ref} in the registry, if any"
        return [
            Call(f"prepare the build context {context} from the wheel", prepare),
            build,
            Call(check, lambda: check_rebuilt(ctx)),
        ]


class ImagePush(StepBase):
    name, title = "image-push", "Push container image"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if ctx.container is None:
            return Observation.skipped(ctx.container_reason)
        digest = ctx.registry.digest(ctx.tag)
        if digest is None:
            return Observation.pending(f"{ctx.config.image}:{ctx.tag}")
        version = ctx.registry.labels(ctx.tag).get(VERSION_LABEL)
        if version != ctx.version.pep440:
            return Observation.conflict(
                f"the registry holds {ctx.config.image}:{ctx.tag} labelled version {version}"
            )
        mismatch = rebuilt_mismatch(ctx)  # built here again: is it the published image?
        if mismatch is not None:
            return Observation.conflict(mismatch)
        digests = {
            tag: digest if tag == ctx.tag else ctx.registry.digest(tag) for tag in ctx.image_tags
        }
        facts = [ImageDigest(f"{ctx.config.image}:{tag}", d) for tag, d in digests.items()]
        if any(d != digest for d in digests.values()):
            return Observation.pending("latest", facts)
        return Observation.done(digest, facts)

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        if ctx.container is None:
            return []
        # Only what the registry lacks: a resumed run never pushes a tag twice, and ``latest``
        # is a registry-side copy of the version's manifest, so it has the very same digest.
        registry = ctx.registry
        found: list[Action] = [Call(registry.login_text, registry.login)]
        digest = registry.digest(ctx.tag)
        if digest is None:
            found.append(
                ctx.container.push_command(
                    f"{ctx.config.image}:{ctx.tag}",
                    tls_verify=ctx.config.registry_tls_verify,
                    authfile=registry.authfile,
                    pass_fds=registry.pass_fds,
                )
            )
        if ctx.is_newest and (digest is None or registry.digest("latest") != digest):
            found.append(registry.copy_command(ctx.tag, "latest"))
        return found


class GitHubRelease(StepBase):
    """The release on GitHub: a draft, its assets (sdist, wheel, SBOM, SHA256SUMS), then
    published (:mod:`.github_release`)."""

    name, title = "github-release", "Create GitHub release"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if ctx.github is None:
            return Observation.skipped(github_absent(ctx))
        return observe_release(ctx)

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        return [] if ctx.github is None else release_actions(ctx)
