"""The release's publishing steps: build, image, upload, image push, GitHub release."""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ReleaseError
from ..plan import Observation
from ..proc import run
from ..tools import changelog, index

if TYPE_CHECKING:
    from ..context import ReleaseContext
    from ..tools.container import RegistryClient

__all__ = [
    "Build",
    "GitHubRelease",
    "Image",
    "ImagePush",
    "Upload",
    "artifacts",
    "registry_client",
    "release_notes",
]

VERSION_LABEL = "org.opencontainers.image.version"


def artifacts(ctx: ReleaseContext) -> list[Path]:
    """The built sdist and wheel, when exactly those two are in the dist directory."""
    dist = ctx.state_dir / "dist"
    if not dist.is_dir():
        return []
    files = sorted(p for p in dist.iterdir() if p.is_file())
    prefix = f"{ctx.dist_name}-{ctx.version.pep440}"
    sdists = [p for p in files if p.name == f"{prefix}.tar.gz"]
    wheels = [p for p in files if p.name.startswith(f"{prefix}-") and p.suffix == ".whl"]
    if len(sdists) == 1 and len(wheels) == 1 and len(files) == 2:
        return [sdists[0], wheels[0]]
    return []


def release_notes(ctx: ReleaseContext) -> str:
    """This version's CHANGELOG section, read from the tag."""
    text = ctx.git.show(ctx.tag, ctx.config.changelog_file) or ""
    section = changelog.extract_section(text, ctx.version.pep440)
    if section is None:
        raise ReleaseError(
            f"{ctx.config.changelog_file} at {ctx.tag} has no section [{ctx.version}]"
        )
    return section


class Build:
    name, title = "build", "Build sdist and wheel"

    def observe(self, ctx: ReleaseContext) -> Observation:
        files = artifacts(ctx)
        if files:
            return Observation.done(", ".join(p.name for p in files))
        return Observation.pending(f"from a clean export of {ctx.tag}")

    def act(self, ctx: ReleaseContext) -> None:
        src, dist = ctx.state_dir / "src", ctx.state_dir / "dist"
        for path in (src, dist):
            shutil.rmtree(path, ignore_errors=True)
        src.mkdir(parents=True)
        archive = ctx.state_dir / "src.tar"
        ctx.git("archive", "--format=tar", "-o", str(archive), ctx.tag)
        with tarfile.open(archive) as tar:
            tar.extractall(src)
        archive.unlink()
        env = {"SOURCE_DATE_EPOCH": ctx.git.commit_timestamp(ctx.tag)}
        installer = ["--installer", "uv"] if shutil.which("uv") else []
        run(
            [sys.executable, "-m", "build", *installer, "--outdir", str(dist), str(src)],
            cwd=src,
            env=env,
        )
        files = artifacts(ctx)
        if not files:
            found = sorted(p.name for p in dist.iterdir())
            raise ReleaseError(
                f"the build made {found}, not exactly one sdist and one wheel for "
                f"{ctx.dist_name} {ctx.version}: check [tool.release] package"
            )
        index.check(files)

    def preview(self, ctx: ReleaseContext) -> list[str]:
        return [
            f"git archive {ctx.tag} | (extract)",
            "python -m build --outdir DIST SRC",
            "twine check --strict DIST/*",
        ]


class Image:
    name, title = "image", "Build container image"

    def _tags(self, ctx: ReleaseContext) -> list[str]:
        tags = [f"{ctx.config.image}:{ctx.tag}"]
        if ctx.is_newest:
            tags.append(f"{ctx.config.image}:latest")
        return tags

    def observe(self, ctx: ReleaseContext) -> Observation:
        if ctx.container is None:
            return Observation.skipped(ctx.container_reason)
        ref = f"{ctx.config.image}:{ctx.tag}"
        if ctx.container.label(ref, VERSION_LABEL) != ctx.version.pep440:
            return Observation.pending(" + ".join(t.rsplit(":", 1)[1] for t in self._tags(ctx)))
        image_id = ctx.container.image_id(ref)
        if ctx.is_newest and ctx.container.image_id(f"{ctx.config.image}:latest") != image_id:
            return Observation.pending("latest")
        return Observation.done(f"{ref} ({(image_id or '')[:12]})")

    def act(self, ctx: ReleaseContext) -> None:
        from ..tools.container import build_metadata, prepare_context

        assert ctx.container is not None
        files = artifacts(ctx)
        if not files:
            raise ReleaseError(
                f"no built wheel for {ctx.version}: resume with {ctx.resume_command}"
            )
        context = prepare_context(
            files[1], ctx.state_dir / "src" / ctx.config.dockerfile, ctx.state_dir / "image-context"
        )
        created = dt.datetime.fromtimestamp(
            int(ctx.git.commit_timestamp(ctx.tag)), dt.timezone.utc
        ).isoformat()
        args, labels = build_metadata(
            ctx.version.pep440,
            ctx.git.rev(ctx.tag) or "",
            created=created,
            source=ctx.git.remote_url(ctx.config.remote) or "",
            base_image=ctx.config.base_image,
        )
        ctx.container.build(context, tags=self._tags(ctx), build_args=args, labels=labels)

    def preview(self, ctx: ReleaseContext) -> list[str]:
        engine = ctx.container.name if ctx.container else "podman"
        return [f"{engine} build " + " ".join(f"-t {t}" for t in self._tags(ctx)) + " CONTEXT"]


class Upload:
    name, title = "upload", "Publish to the package index"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if not ctx.config.index_simple_url:
            return Observation.skipped("no package index configured")
        served = index.served_files(
            ctx.config.index_simple_url,
            ctx.config.package,
            username=ctx.credentials.index_username,
            password=ctx.credentials.index_password,
        )
        files = artifacts(ctx)
        if not files:
            prefix = f"{ctx.dist_name}-{ctx.version.pep440}"
            mine = [n for n in served if n.startswith((f"{prefix}.", f"{prefix}-"))]
            if len(mine) >= 2:
                return Observation.done(f"{len(mine)} files served")
            return Observation.pending("sdist and wheel")
        to_upload, _, conflicts = index.plan_uploads(files, served)
        if conflicts:
            names = ", ".join(p.name for p in conflicts)
            return Observation.conflict(f"the index serves {names} with other bytes")
        if not to_upload:
            return Observation.done("sha256 of every file matches the index")
        return Observation.pending(", ".join(p.name for p in to_upload))

    def act(self, ctx: ReleaseContext) -> None:
        served = index.served_files(
            ctx.config.index_simple_url,
            ctx.config.package,
            username=ctx.credentials.index_username,
            password=ctx.credentials.index_password,
        )
        to_upload, _, _ = index.plan_uploads(artifacts(ctx), served)
        index.upload(
            to_upload,
            repository_url=ctx.config.index_url,
            username=ctx.credentials.index_username or "__token__",
            password=ctx.credentials.index_password or "",
        )

    def preview(self, ctx: ReleaseContext) -> list[str]:
        return [f"twine upload --repository-url {ctx.config.index_url} DIST/*"]


def registry_client(ctx: ReleaseContext) -> tuple[RegistryClient, str]:
    """A client of the registry that ``config.image`` lives in, and the repository in it."""
    from ..tools.container import RegistryClient

    host, _, repository = ctx.config.image.partition("/")
    scheme = "https" if ctx.config.registry_tls_verify else "http"
    client = RegistryClient(
        f"{scheme}://{host}", ctx.credentials.registry_username, ctx.credentials.registry_password
    )
    return client, repository


class ImagePush:
    name, title = "image-push", "Push container image"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if ctx.container is None:
            return Observation.skipped(ctx.container_reason)
        client, repository = registry_client(ctx)
        digest = client.manifest_digest(repository, ctx.tag)
        if digest is None:
            return Observation.pending(f"{ctx.config.image}:{ctx.tag}")
        version = client.config_labels(repository, ctx.tag).get(VERSION_LABEL)
        if version != ctx.version.pep440:
            return Observation.conflict(
                f"the registry holds {ctx.config.image}:{ctx.tag} labelled version {version}"
            )
        if ctx.is_newest and client.manifest_digest(repository, "latest") != digest:
            return Observation.pending("latest")
        return Observation.done(digest)

    def act(self, ctx: ReleaseContext) -> None:
        assert ctx.container is not None
        client, repository = registry_client(ctx)
        # Only what the registry lacks is pushed: a resumed run never pushes a tag twice.
        refs = []
        digest = client.manifest_digest(repository, ctx.tag)
        if digest is None:
            refs.append(f"{ctx.config.image}:{ctx.tag}")
        if ctx.is_newest and (
            digest is None or client.manifest_digest(repository, "latest") != digest
        ):
            refs.append(f"{ctx.config.image}:latest")
        for ref in refs:
            ctx.container.push(
                ref,
                tls_verify=ctx.config.registry_tls_verify,
                username=ctx.credentials.registry_username,
                password=ctx.credentials.registry_password,
            )

    def preview(self, ctx: ReleaseContext) -> list[str]:
        engine = ctx.container.name if ctx.container else "podman"
        pushes = [f"{engine} push {ctx.config.image}:{ctx.tag}"]
        if ctx.is_newest:
            pushes.append(f"{engine} push {ctx.config.image}:latest")
        return pushes


class GitHubRelease:
    name, title = "github-release", "Create GitHub release"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if ctx.github is None:
            return Observation.skipped("no GitHub repository configured")
        release = ctx.github.release_for_tag(ctx.tag)
        if release is None:
            return Observation.pending(f"release {ctx.tag}")
        if ctx.git.tag_info(ctx.tag) is None:
            return Observation.conflict(f"GitHub has a release for {ctx.tag} but there is no tag")
        if release.body.strip() != release_notes(ctx).strip():
            return Observation.pending(f"update release {ctx.tag} to the CHANGELOG section")
        return Observation.done(release.html_url)

    def act(self, ctx: ReleaseContext) -> None:
        assert ctx.github is not None
        body = release_notes(ctx)
        release = ctx.github.release_for_tag(ctx.tag)
        if release is None:
            ctx.github.create_release(
                ctx.tag,
                name=ctx.tag,
                body=body,
                prerelease=ctx.version.is_prerelease,
                make_latest=ctx.is_newest,
            )
        else:
            ctx.github.update_release(release.id, body=body, make_latest=ctx.is_newest)

    def preview(self, ctx: ReleaseContext) -> list[str]:
        repo = ctx.config.github_repository
        latest = "true" if ctx.is_newest else "false"
        return [
            f"POST /repos/{repo}/releases tag_name={ctx.tag} make_latest={latest} "
            "body=<CHANGELOG section>"
        ]
