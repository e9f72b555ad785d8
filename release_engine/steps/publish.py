"""The release's publishing steps: build, image, upload, image push, GitHub release."""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..errors import CommandError, ConfigError, ReleaseError
from ..plan import (
    Action,
    Artifact,
    Call,
    ImageDigest,
    Observation,
    StepBase,
    perform,
)
from ..proc import Command
from ..tools import index
from ..tools.container import build_metadata, prepare_context
from ..tools.git import extract_archive
from .common import artifacts
from .github_release import observe_release, release_actions

if TYPE_CHECKING:
    from ..context import ReleaseContext

__all__ = ["Build", "GitHubRelease", "Image", "ImagePush", "Upload", "served_files"]

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
            Call(f"move the checked files to {dist}", lambda: staged.rename(dist)),
        ]


class Image(StepBase):
    name, title = "image", "Build container image"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if ctx.container is None:
            return Observation.skipped(ctx.container_reason)
        engine, ref = ctx.container, f"{ctx.config.image}:{ctx.tag}"
        latest = f"{ctx.config.image}:latest"
        found = engine.inspect_each([ref, latest] if ctx.is_newest else [ref])  # one look
        if engine.labels_of(found[ref]).get(VERSION_LABEL) != ctx.version.pep440:
            # A rerun on another machine (an empty image store) builds nothing the registry
            # has: what is published is the image, and image-push compares its digests.
            if _in_registry(ctx):
                return Observation.done(f"{ref} is in the registry: no local build needed")
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
            prepare_context(files[1], dockerfile, context, args)

        build = ctx.container.build_command(
            context,
            tags=[f"{ctx.config.image}:{tag}" for tag in ctx.image_tags],
            build_args=args,
            iidfile=ctx.state_dir / "image.iid",
            timestamp=epoch if epoch.isdigit() else f"<commit time of {ctx.tag}>",
        )
        return [Call(f"prepare the build context {context} from the wheel", prepare), build]


def _in_registry(ctx: ReleaseContext) -> bool:
    """Whether the registry holds this version's image (tag and version label)."""
    if ctx.registry.digest(ctx.tag) is None:
        return False
    return ctx.registry.labels(ctx.tag).get(VERSION_LABEL) == ctx.version.pep440


def served_files(ctx: ReleaseContext) -> dict[str, str]:
    """What the configured index serves for the package: filename → sha256."""
    auth = None
    if ctx.credentials.index_password:
        auth = (ctx.credentials.index_username or "__token__", ctx.credentials.index_password)
    return index.served_files(ctx.config.index_simple_url, ctx.config.package, auth=auth)


class Upload(StepBase):
    name, title = "upload", "Publish to the package index"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if not ctx.config.index_simple_url:
            return Observation.skipped("no package index configured")
        served = served_files(ctx)
        files = artifacts(ctx)
        if not files:  # nothing built here (yet): what the index holds is what there is
            mine = index.release_files(served, ctx.config.package, ctx.version.pep440)
            facts = [Artifact(name, None, served[name]) for name in mine]
            if len(mine) >= 2:
                return Observation.done(f"{len(mine)} files served", facts)
            return Observation.pending("sdist and wheel", facts)
        local = {path: index.sha256_of(path) for path in files}
        facts = [Artifact(p.name, sha, served.get(p.name)) for p, sha in local.items()]
        to_upload, _, conflicts = index.plan_uploads(local, served)
        if conflicts:
            names = ", ".join(p.name for p in conflicts)
            return Observation.conflict(f"the index serves {names} with other bytes")
        if not to_upload:
            return Observation.done("sha256 of every file matches the index", facts)
        return Observation.pending(", ".join(p.name for p in to_upload), facts)

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        """The exchange (trusted publishing only), one upload per file the index lacks (a
        refusal then names one file), and the wait until the index serves them all."""
        files = artifacts(ctx)
        to_upload = index.plan_uploads(files, served_files(ctx)).to_upload if files else []
        login = ctx.index_login
        found: list[Action] = []
        if login.kind == "trusted-publishing":
            found.append(Call(_exchange_text(ctx), lambda: None))
        found += [
            index.upload_command(
                [path],
                repository_url=ctx.config.index_url,
                username=login.username,
                password=login.password or "<minted upload token>",
            )
            for path in to_upload or [ctx.dist_dir / "*"]
        ]
        wait = f"read {ctx.config.index_simple_url} until it serves every file with its sha256"
        found.append(Call(f"{wait} (at most {ctx.index_patience:.0f} s)", lambda: None))
        return found

    def act(self, ctx: ReleaseContext) -> None:
        files = artifacts(ctx)
        if not files:
            raise ReleaseError(f"no built sdist and wheel in {ctx.dist_dir}: build them first")
        local = {path: index.sha256_of(path) for path in files}
        to_upload = index.plan_uploads(local, served_files(ctx)).to_upload
        if to_upload:
            self._upload(ctx, to_upload)
        index.await_served(
            lambda: served_files(ctx), local, bound=ctx.index_patience, progress=ctx.progress
        )

    def _upload(self, ctx: ReleaseContext, files: list[Path]) -> None:
        """Each file on its own, so that a refusal names the one file the index holds."""
        login = ctx.index_login
        if login.unavailable:  # the preflight of a release refuses it first
            raise ConfigError(login.unavailable)
        password = login.password
        if password is None:  # trusted publishing: a token for this upload alone
            ctx.progress(_exchange_text(ctx))
            password = index.mint_token(ctx.config.index_url)
            ctx.secrets.add_basic(login.username, password)
        for path in files:
            upload = index.upload_command(
                [path], repository_url=ctx.config.index_url, username=login.username,
                password=password,
            )  # fmt: skip
            try:
                perform(upload, ctx)
            except CommandError as exc:
                error = index.upload_refused(exc, [path], served_files(ctx))
                if error is not None:
                    raise error from exc
                ctx.progress(f"the package index holds {path.name} already: comparing sha256")


def _exchange_text(ctx: ReleaseContext) -> str:
    parts = urlsplit(ctx.config.index_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return (
        f"trusted publishing: GitHub Actions' OIDC token for {origin}/_/oidc/audience, "
        f"exchanged at {origin}/_/oidc/mint-token for an upload token"
    )


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
            return Observation.skipped("no GitHub repository configured")
        return observe_release(ctx)

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        return [] if ctx.github is None else release_actions(ctx)
