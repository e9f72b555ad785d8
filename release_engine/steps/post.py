"""Post-release steps: point the deployment manifests at the new image, tell people."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from ..plan import Action, Call, Observation, StepBase
from ..tools.notify import post_json
from .common import checkout, retarget_manifests, stale_manifests

if TYPE_CHECKING:
    from ..context import ReleaseContext

__all__ = ["DeployManifests", "Notify"]


class DeployManifests(StepBase):
    """Move the deployment manifests on main to the new image, once that image is pushed.

    Only the newest stable release moves them: a hotfix of an old line or a pre-release
    never redeploys production.
    """

    name, title = "deploy-manifests", "Update deployment manifests"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if not ctx.config.deploy_manifests:
            return Observation.skipped("no deploy_manifests configured")
        if not ctx.is_newest:
            return Observation.skipped("not the newest stable release; manifests stay")
        if ctx.container is None:
            return Observation.skipped("no image was pushed; manifests stay")
        stale = stale_manifests(ctx, ctx.base_branch, ctx.tag)
        remote = ctx.git.remote_refs(ctx.config.remote).get(f"refs/heads/{ctx.base_branch}")
        if stale:
            return Observation.pending(", ".join(stale))
        if remote != ctx.git.rev(ctx.base_branch):
            return Observation.pending(f"push {ctx.base_branch}")
        return Observation.done(f"manifests at {ctx.tag} on {ctx.config.remote}")

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        found: list[Action] = []
        stale = stale_manifests(ctx, ctx.base_branch, ctx.tag)
        if stale:
            found += checkout(ctx, ctx.base_branch)
            found += retarget_manifests(ctx, stale, ctx.tag, f"Deploy {ctx.tag}")
        push = ("push", "--quiet", ctx.config.remote, f"refs/heads/{ctx.base_branch}")
        return [*found, ctx.git.command(*push)]


class Notify(StepBase):
    """POST a release message to each configured webhook, once.

    A webhook cannot be asked what it received, so what was sent is recorded in the
    release's state directory and that record is what is observed.
    """

    name, title = "notify", "Notify stakeholders"

    def _record(self, ctx: ReleaseContext) -> set[str]:
        path = ctx.state_dir / "notified.json"
        return set(json.loads(path.read_text())) if path.exists() else set()

    def _remember(self, ctx: ReleaseContext, key: str) -> None:
        record = self._record(ctx) | {key}
        ctx.state_dir.mkdir(parents=True, exist_ok=True)
        (ctx.state_dir / "notified.json").write_text(json.dumps(sorted(record)))

    @staticmethod
    def _key(hook: str) -> str:
        return hashlib.sha256(hook.encode()).hexdigest()[:16]

    def observe(self, ctx: ReleaseContext) -> Observation:
        hooks = ctx.credentials.webhooks
        if not hooks:
            return Observation.skipped(f"no webhooks in ${ctx.config.notify_webhooks_env}")
        left = [h for h in hooks if self._key(h) not in self._record(ctx)]
        if left:
            return Observation.pending(f"{len(left)} webhook(s)")
        return Observation.done(f"{len(hooks)} webhook(s) notified")

    def message(self, ctx: ReleaseContext) -> dict[str, str]:
        url = ""
        if ctx.github is not None:
            release = ctx.github.release_for_tag(ctx.tag)
            url = release.html_url if release else ""
        return {
            "text": f"{ctx.config.package} {ctx.version} is released. {url}".strip(),
            "version": ctx.version.pep440,
            "tag": ctx.tag,
            "url": url,
        }

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        record = self._record(ctx)
        message = self.message(ctx)
        found: list[Action] = []
        for i, hook in enumerate(ctx.credentials.webhooks, start=1):
            key = self._key(hook)
            if key in record:
                continue

            def send(hook: str = hook, key: str = key) -> None:
                post_json(hook, message)
                self._remember(ctx, key)

            found.append(Call(f"POST <webhook {i}> {json.dumps(message)}", send))
        return found
