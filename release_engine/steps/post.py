"""Post-release steps: point the deployment manifests at the new image, tell people."""

from __future__ import annotations

import hashlib
import json
import re
import urllib.request
from typing import TYPE_CHECKING

from ..errors import ReleaseError
from ..plan import Observation
from ..redact import redact

if TYPE_CHECKING:
    from ..context import ReleaseContext

__all__ = ["DeployManifests", "Notify", "retarget_manifest"]


def retarget_manifest(text: str, image: str, tag: str) -> str:
    """*text* with every ``image: …/<name>:<tag>`` reference moved to *tag*."""
    name = re.escape(image.rsplit("/", 1)[-1])
    return re.sub(rf"(image:\s*\S*?\b{name}):[\w.+-]+", rf"\g<1>:{tag}", text)


class DeployManifests:
    """Move the deployment manifests on main to the new image, once that image is pushed.

    Only the newest stable release moves them: a hotfix of an old line or a pre-release
    never redeploys production.
    """

    name, title = "deploy-manifests", "Update deployment manifests"

    def _stale(self, ctx: ReleaseContext) -> list[str]:
        stale = []
        for path in ctx.config.deploy_manifests:
            text = ctx.git.show(ctx.base_branch, path)
            if text is None:
                raise ReleaseError(
                    f"deploy manifest {path} is not on {ctx.base_branch}: "
                    "fix [tool.release] deploy_manifests"
                )
            if retarget_manifest(text, ctx.config.image, ctx.tag) != text:
                stale.append(path)
        return stale

    def observe(self, ctx: ReleaseContext) -> Observation:
        if not ctx.config.deploy_manifests:
            return Observation.skipped("no deploy_manifests configured")
        if not ctx.is_newest:
            return Observation.skipped("not the newest stable release; manifests stay")
        if ctx.container is None:
            return Observation.skipped("no image was pushed; manifests stay")
        stale = self._stale(ctx)
        remote = ctx.git.remote_refs(ctx.config.remote).get(f"refs/heads/{ctx.base_branch}")
        if stale:
            return Observation.pending(", ".join(stale))
        if remote != ctx.git.rev(ctx.base_branch):
            return Observation.pending(f"push {ctx.base_branch}")
        return Observation.done(f"manifests at {ctx.tag} on {ctx.config.remote}")

    def act(self, ctx: ReleaseContext) -> None:
        stale = self._stale(ctx)
        if stale:
            if ctx.git.current_branch() != ctx.base_branch:
                ctx.git("checkout", "--quiet", ctx.base_branch)
            for path in stale:
                file = ctx.repo / path
                file.write_text(
                    retarget_manifest(file.read_text(encoding="utf-8"), ctx.config.image, ctx.tag),
                    encoding="utf-8",
                )
            ctx.git("add", *stale)
            ctx.git("commit", "--quiet", "-m", f"Deploy {ctx.tag}")
        ctx.git("push", "--quiet", ctx.config.remote, f"refs/heads/{ctx.base_branch}")

    def preview(self, ctx: ReleaseContext) -> list[str]:
        return [
            f"edit {', '.join(ctx.config.deploy_manifests)}: image tag -> {ctx.tag}",
            f'git commit -m "Deploy {ctx.tag}"',
            f"git push {ctx.config.remote} {ctx.base_branch}",
        ]


class Notify:
    """POST a release message to each configured webhook, once.

    A webhook cannot be asked what it received, so what was sent is recorded in the
    release's state directory and that record is what is observed.
    """

    name, title = "notify", "Notify stakeholders"

    def _record(self, ctx: ReleaseContext) -> set[str]:
        path = ctx.state_dir / "notified.json"
        return set(json.loads(path.read_text())) if path.exists() else set()

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

    def act(self, ctx: ReleaseContext) -> None:
        record = self._record(ctx)
        body = json.dumps(self.message(ctx)).encode()
        for hook in ctx.credentials.webhooks:
            if self._key(hook) in record:
                continue
            request = urllib.request.Request(
                hook, data=body, method="POST", headers={"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    response.read()
            except OSError as exc:
                raise ReleaseError(redact(f"webhook {hook} failed: {exc}")) from None
            record.add(self._key(hook))
            ctx.state_dir.mkdir(parents=True, exist_ok=True)
            (ctx.state_dir / "notified.json").write_text(json.dumps(sorted(record)))

    def preview(self, ctx: ReleaseContext) -> list[str]:
        return [
            f'POST <webhook {i + 1}> {{"text": "{ctx.config.package} {ctx.version} ..."}}'
            for i in range(len(ctx.credentials.webhooks))
        ]
