"""Publish to the package index: one ``twine upload`` per file the index lacks, then the wait
until it serves them all.

Its actions are its work: a dry run prints them, a run performs them (one upload per file, so
a refusal names the one file the index holds already); nothing is planned a second time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ...built import artifacts
from ...errors import CommandError, ConfigError, ReleaseError
from ...plan import Action, Artifact, Call, Observation, StepBase, perform
from ...proc import Command
from .. import index
from .prebuilt import attestations_of
from .remote import credentials_login

if TYPE_CHECKING:
    from ...context import ReleaseContext

__all__ = ["Upload", "served_files"]


def served_files(ctx: ReleaseContext) -> dict[str, str]:
    """What the configured index serves for the package: filename → sha256."""
    auth = credentials_login(ctx.credentials)
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
        """The exchange (trusted publishing only), one upload per file the index lacks, and
        the wait until the index serves them all.

        Before the build (a dry run) the files are named by placeholders, one upload each, as
        the run will make them. With trusted publishing the token exists once the exchange
        made it: each upload is then a call that runs the very command it shows.
        """
        files = artifacts(ctx)  # sdist, wheel: uploaded in this order
        lacking = set(index.plan_uploads(files, served_files(ctx)).to_upload if files else [])
        to_upload = [path for path in files if path in lacking]
        if not files:
            what = f"{ctx.config.package} {ctx.version}"
            to_upload = [ctx.dist_dir / f"<the {kind} of {what}>" for kind in ("sdist", "wheel")]
        login, minted = ctx.index_login, list[str]()
        found: list[Action] = []
        if login.kind == "trusted-publishing":
            found.append(Call(_exchange_text(ctx), lambda: minted.append(_mint(ctx))))
        for path in to_upload:
            shown = self._command(ctx, path, login.password or "<minted upload token>")
            if login.password is not None:
                found.append(shown)
            else:
                found.append(Call(shown.render(), self._with_token(ctx, path, minted)))
        wait = f"read {ctx.config.index_simple_url} until it serves every file with its sha256"
        found.append(Call(f"{wait} (at most {ctx.index_patience:.0f} s)", lambda: _await(ctx)))
        return found

    @staticmethod
    def _command(ctx: ReleaseContext, path: Path, password: str) -> Command:
        # The distribution file last (act() reads it there); its attestations before it.
        return index.upload_command(
            [*attestations_of(path), path], repository_url=ctx.config.index_url,
            username=ctx.index_login.username, password=password,
        )  # fmt: skip

    def _with_token(self, ctx: ReleaseContext, path: Path, minted: list[str]) -> Callable[[], None]:
        return lambda: self._upload(ctx, path, minted[-1])

    def act(self, ctx: ReleaseContext) -> None:
        """Its actions, in order; an upload the index refuses is explained by what it serves."""
        if ctx.index_login.unavailable:  # the preflight of a release refuses it first
            raise ConfigError(ctx.index_login.unavailable)
        if not artifacts(ctx):
            raise ReleaseError(f"no built sdist and wheel in {ctx.dist_dir}: build them first")
        for action in self.actions(ctx):
            if isinstance(action, Command):
                self._upload(ctx, Path(action.argv[-1]), action)
            else:
                perform(action, ctx)

    def _upload(self, ctx: ReleaseContext, path: Path, upload: Command | str) -> None:
        """Upload *path* (the command, or the minted token it takes); a refusal names it."""
        if not isinstance(upload, Command):
            upload = self._command(ctx, path, upload)
        try:
            perform(upload, ctx)
        except CommandError as exc:
            error = index.upload_refused(exc, [path], served_files(ctx))
            if error is not None:
                raise error from exc
            ctx.progress(f"the package index holds {path.name} already: comparing sha256")


def _mint(ctx: ReleaseContext) -> str:
    """Trusted publishing's exchange: a token for this upload alone, kept out of all output."""
    ctx.progress(_exchange_text(ctx))
    token = index.mint_token(ctx.config.index_url)
    ctx.secrets.add_basic(ctx.index_login.username, token)
    return token


def _await(ctx: ReleaseContext) -> None:
    """Until the index serves every built file with its sha256 (a CDN may lag)."""
    local = {path: index.sha256_of(path) for path in artifacts(ctx)}
    index.await_served(
        lambda: served_files(ctx), local, bound=ctx.index_patience, progress=ctx.progress
    )


def _exchange_text(ctx: ReleaseContext) -> str:
    parts = urlsplit(ctx.config.index_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return (
        f"trusted publishing: GitHub Actions' OIDC token for {origin}/_/oidc/audience, "
        f"exchanged at {origin}/_/oidc/mint-token for an upload token"
    )
