"""What the GitHub release step sees and does: a draft, its assets, then publishing.

:class:`GitHubRelease` (the step, below) reads these: :func:`observe_release`
compares the release GitHub holds (a draft too) and its assets' sha256 with what this clone
makes (:mod:`.release_assets`); :func:`release_actions` lists what is missing, in the only
order immutable releases allow: create the draft, upload each missing asset, publish.
"""

from __future__ import annotations

__all__ = ["GitHubRelease", "observe_release", "release_actions", "release_body"]

from functools import partial
from typing import TYPE_CHECKING

from ...built import release_notes
from ...errors import ConflictError, ReleaseError
from ...plan import Action, Call, Observation, PublishedRelease, StepBase
from .assets import SUMS, AssetInfo, ReleaseAssets
from .notes import FOOTER_RULE, github_absent, github_notes, without_waivers
from .release_assets import Wanted, image_ref, sbom_name, wanted, wanted_names

if TYPE_CHECKING:
    from ...context import ReleaseContext


def _releases(ctx: ReleaseContext) -> ReleaseAssets:
    assert ctx.github is not None
    return ReleaseAssets(ctx.github)


def _other_bytes(ctx: ReleaseContext, name: str, there: str, here: str) -> str:
    return (
        f"GitHub release {ctx.tag} holds {name} with other bytes (sha256 {there[:12]} there, "
        f"{here[:12]} made here): delete that asset from the draft on GitHub, or find why "
        "the files differ, then run again"
    )


def _missing(ctx: ReleaseContext, want: Wanted, served: dict[str, AssetInfo]) -> list[str]:
    """The assets GitHub lacks (by kind, when nothing is built here to name them)."""
    names = set(want.shas()) | {SUMS} | ({sbom_name(ctx)} if ctx.container else set())
    missing = sorted(n for n in names if n not in served)
    if not want.files:
        prefix = f"{ctx.config.package.replace('-', '_')}-{ctx.version.pep440}"
        for kind in (".tar.gz", ".whl"):
            if not any(n.startswith(prefix) and n.endswith(kind) for n in served):
                missing.append(f"the {kind} file")
    return missing


def release_body(ctx: ReleaseContext) -> str:
    """The GitHub release's body: :func:`~.notes.github_notes` (the CHANGELOG section, the
    footer naming waived gates), and in that footer the semver guard's waiver when
    ``--allow-semver-break`` was given (:func:`~release_engine.semver.waiver_note`)."""
    from ...semver import waiver_note

    body, note = github_notes(ctx), waiver_note(ctx)
    if not note:
        return body
    rule = "" if FOOTER_RULE in body else FOOTER_RULE.rstrip("\n")
    return f"{body.rstrip()}{rule}\n\n{note}\n"


def observe_release(ctx: ReleaseContext) -> Observation:
    releases = _releases(ctx)
    release = releases.find(ctx.tag)
    if release is None:
        return Observation.pending(f"draft release {ctx.tag}, its assets, then publish it")
    if ctx.git.tag_info(ctx.tag) is None:
        return Observation.conflict(f"GitHub has a release for {ctx.tag} but there is no tag")
    served, want = releases.assets(release.id), wanted(ctx)
    for name, sha in want.shas().items():
        there = served.get(name)
        if there is not None and there.sha256 is not None and there.sha256 != sha:
            return Observation.conflict(_other_bytes(ctx, name, there.sha256, sha))
    missing = _missing(ctx, want, served)
    facts = [PublishedRelease(release.html_url, release.body)]
    if release.draft:
        todo = f"upload {', '.join(missing)}, then publish" if missing else "publish"
        return Observation.pending(f"draft {ctx.tag}: {todo}", facts)
    if missing:
        return Observation.conflict(
            f"release {ctx.tag} was published without {', '.join(missing)}: GitHub's immutable "
            "releases take no asset once published; delete the release on GitHub, then run again"
        )
    if without_waivers(release.body).strip() != release_notes(ctx).strip():
        return Observation.pending(f"update release {ctx.tag} to the CHANGELOG section", facts)
    return Observation.done(f"{release.html_url} ({len(served)} assets)", facts)


def release_actions(ctx: ReleaseContext) -> list[Action]:
    releases = _releases(ctx)
    repo, latest = ctx.config.github_repository, str(ctx.is_newest).lower()
    release = releases.find(ctx.tag)
    if release is not None and not release.draft:
        return [
            Call(
                f"PATCH /repos/{repo}/releases/{release.id} body=<CHANGELOG section>",
                lambda: releases.client.update_release(
                    release.id, body=release_body(ctx), make_latest=ctx.is_newest
                ),
            )
        ]
    draft = _Draft(ctx, releases, None if release is None else release.id)
    found: list[Action] = []
    if release is None:
        found.append(
            Call(
                f"POST /repos/{repo}/releases tag_name={ctx.tag} draft=true "
                "body=<CHANGELOG section>",
                draft.create,
            )
        )
    what = f"the SBOM of {image_ref(ctx)} and {SUMS}" if ctx.container else SUMS
    found.append(Call(f"make {what} in {ctx.state_dir / 'assets'}", draft.make))
    served = releases.assets(release.id) if release is not None else {}
    for name in wanted_names(ctx):
        if name not in served:
            found.append(
                Call(
                    f"POST <upload_url>?name={name} (the file's bytes, on the uploads host)",
                    partial(draft.upload, name),
                )
            )
    found.append(
        Call(
            f"PATCH /repos/{repo}/releases/<draft id> draft=false make_latest={latest} "
            "(published last: immutable releases take no asset afterwards)",
            draft.publish,
        )
    )
    return found


class _Draft:
    """The draft release one run of the step's actions works on.

    What the actions learn is kept for the next ones: the draft's id (from creating it, or
    found once), the assets made here (:func:`.release_assets.wanted`: the registry is asked
    for the image's digest once, not once per asset) and the assets GitHub holds (listed once,
    then each upload's answer added). A run killed between two actions keeps nothing: the
    next run's actions start from what GitHub shows.
    """

    def __init__(self, ctx: ReleaseContext, releases: ReleaseAssets, rid: int | None) -> None:
        self.ctx, self.releases, self.rid = ctx, releases, rid
        self._want: Wanted | None = None
        self._shas: dict[str, str] = {}  # of the assets made here, hashed once
        self._served: dict[str, AssetInfo] | None = None

    def create(self) -> None:
        ctx = self.ctx
        made = self.releases.create_draft(
            ctx.tag, name=ctx.tag, body=release_body(ctx), prerelease=ctx.version.is_prerelease
        )
        self.rid, self._served = made.id, {}

    def make(self) -> None:
        self._want = wanted(self.ctx, make=True)
        self._shas = self._want.shas()

    def _draft_id(self) -> int:
        if self.rid is None:
            release = self.releases.find(self.ctx.tag)
            if release is None or not release.draft:
                raise ReleaseError(
                    f"there is no draft release for {self.ctx.tag} on GitHub to add assets to"
                )
            self.rid = release.id
        return self.rid

    def _wanted(self) -> Wanted:
        if self._want is None:
            self.make()
        assert self._want is not None
        return self._want

    def _assets(self) -> dict[str, AssetInfo]:
        if self._served is None:
            self._served = self.releases.assets(self._draft_id())
        return self._served

    def upload(self, name: str) -> None:
        """Upload the asset *name* unless GitHub holds it with the same sha256 already."""
        ctx, want = self.ctx, self._wanted()
        if name not in want.files and name != SUMS:  # a placeholder of a dry run's list
            return
        rid, served = self._draft_id(), self._assets()
        path = want.files.get(name) or ctx.state_dir / "assets" / SUMS
        sha = self._shas[name]
        there = served.get(name)
        if there is None:
            there = served[name] = self.releases.upload(rid, path, name)
        if there.sha256 is not None and there.sha256 != sha:
            raise ConflictError(_other_bytes(ctx, name, there.sha256, sha))

    def publish(self) -> None:
        """Publish the draft, only once it holds every asset with the sha256 made here."""
        want, rid = self._wanted(), self._draft_id()
        for name in self._shas:  # every one: uploaded in this run or an earlier one
            self.upload(name)
        missing = _missing(self.ctx, want, self._assets())
        if missing:
            raise ReleaseError(f"the draft of {self.ctx.tag} still lacks {', '.join(missing)}")
        self.releases.publish(rid, make_latest=self.ctx.is_newest)


class GitHubRelease(StepBase):
    """The release on GitHub: a draft, its assets (sdist, wheel, SBOM, SHA256SUMS), then
    published (below)."""

    name, title = "github-release", "Create GitHub release"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if ctx.github is None:
            return Observation.skipped(github_absent(ctx))
        return observe_release(ctx)

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        return [] if ctx.github is None else release_actions(ctx)
