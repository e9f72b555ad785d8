"""Post-release steps: point the deployment manifests at the new image, tell people."""

from __future__ import annotations

import email
import email.policy
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name

from ..errors import ReleaseError
from ..plan import Action, Call, Observation, StepBase
from ..tools import mail
from ..tools.notify import ReleaseLinks, post_message, slack_message
from ..words import counted
from .common import checkout, release_notes, retarget_manifests, stale_manifests
from .landing import land, merged_pull, pull_request_mode, remote_main, sync_main

if TYPE_CHECKING:
    from ..context import ReleaseContext

__all__ = ["Announcement", "DeployManifests", "Email", "Notify", "release_links"]


class DeployManifests(StepBase):
    """Move the deployment manifests on main to the new image, once that image is pushed.

    Only the newest stable release moves them: a hotfix of an old line or a pre-release
    never redeploys production. A hotfix of the newest line moves them on main, after its
    forward merge. With ``merge = "pull-request"`` the commit reaches main through a pull
    request from ``release/vX.Y.Z-deploy``.
    """

    name, title = "deploy-manifests", "Update deployment manifests"

    @staticmethod
    def branch(ctx: ReleaseContext) -> str:
        return f"{ctx.release_branch}-deploy"

    def observe(self, ctx: ReleaseContext) -> Observation:
        if not ctx.config.deploy_manifests:
            return Observation.skipped("no deploy_manifests configured")
        if not ctx.is_newest:
            return Observation.skipped("not the newest stable release; manifests stay")
        if ctx.container is None:
            return Observation.skipped("no image was pushed; manifests stay")
        if pull_request_mode(ctx):
            return self._observe_pull(ctx)
        stale = stale_manifests(ctx, ctx.config.main_branch, ctx.tag)
        remote = ctx.git.remote_refs(ctx.config.remote).get(f"refs/heads/{ctx.config.main_branch}")
        if stale:
            return Observation.pending(", ".join(stale))
        if remote != ctx.git.rev(ctx.config.main_branch):
            return Observation.pending(f"push {ctx.config.main_branch}")
        return Observation.done(f"manifests at {ctx.tag} on {ctx.config.remote}")

    def _observe_pull(self, ctx: ReleaseContext) -> Observation:
        main, there = ctx.config.main_branch, remote_main(ctx)
        if there is not None and not stale_manifests(ctx, there, ctx.tag):
            return Observation.done(f"manifests at {ctx.tag} on {ctx.config.remote}")
        if there is None and (pull := merged_pull(ctx, self.branch(ctx))) is not None:
            return Observation.done(f"merged through pull request #{pull.number}")
        stale = stale_manifests(ctx, main, ctx.tag)
        return Observation.pending(", ".join(stale) or f"pull request {self.branch(ctx)}")

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        main = ctx.config.main_branch
        found: list[Action] = sync_main(ctx) if pull_request_mode(ctx) else []
        stale = stale_manifests(ctx, main, ctx.tag)
        if stale:
            found += checkout(ctx, main)
            found += retarget_manifests(ctx, stale, ctx.tag, f"Deploy {ctx.tag}")
        return [*found, *land(ctx, source=main, branch=self.branch(ctx), title=f"Deploy {ctx.tag}")]


def release_links(ctx: ReleaseContext) -> ReleaseLinks:
    """The GitHub release, the project's page on the index, and the pushed image."""
    release = ctx.github.release_for_tag(ctx.tag) if ctx.github is not None else None
    simple, name = ctx.config.index_simple_url, canonicalize_name(ctx.config.package)
    host = urlsplit(simple).hostname or ""
    if host in ("pypi.org", "test.pypi.org"):
        page = f"https://{host}/project/{name}/{ctx.version.pep440}/"
    else:
        page = f"{simple.rstrip('/')}/{name}/" if simple else ""
    image = f"{ctx.config.image}:{ctx.tag}" if ctx.config.image and ctx.container else ""
    return ReleaseLinks(release.html_url if release else "", page, image)


class Announcement:
    """What the message and the email say: a subject and Markdown notes under it."""

    def subject(self, ctx: ReleaseContext) -> str:
        return f"{ctx.config.package} {ctx.version} released"

    def notes(self, ctx: ReleaseContext) -> str:
        """The text under the subject: the release's CHANGELOG section, read from the tag."""
        return release_notes(ctx)


class Notify(Announcement, StepBase):
    """POST a Slack message with the release notes to each configured webhook, once.

    A webhook cannot be asked what it received, so what was sent is recorded on the remote
    (:mod:`release_engine.tools.records`: every clone and CI runner sees it) and that record
    is what is observed. Each webhook is marked *pending* there before its message goes and
    *sent* after: a run killed in between leaves *pending*, and the message is not sent again
    (at most once) but reported done with a note to check the channel. A send that failed
    (the webhook refused it or could not be reached) clears the mark, so resuming sends it.
    """

    name, title = "notify", "Notify stakeholders"
    record_name = "notify"

    def _record(self, ctx: ReleaseContext) -> tuple[set[str], str | None]:
        """The webhooks (by key) sent to, and the one a run was sending to when it stopped."""
        found = ctx.records.read(self.record_name) or {}
        return set(found.get("sent") or []), found.get("pending")

    def _remember(self, ctx: ReleaseContext, sent: set[str], pending: str | None) -> None:
        ctx.records.write(self.record_name, {"sent": sorted(sent), "pending": pending})

    @staticmethod
    def _key(hook: str) -> str:
        return hashlib.sha256(hook.encode()).hexdigest()[:16]

    def observe(self, ctx: ReleaseContext) -> Observation:
        hooks = ctx.credentials.webhooks
        if not hooks:
            return Observation.skipped(f"no webhooks in ${ctx.config.notify_webhooks_env}")
        sent, pending = self._record(ctx)
        left = [h for h in hooks if self._key(h) not in sent | {pending}]
        if left:
            return Observation.pending(counted(len(left), "webhook"))
        if pending is not None and pending in {self._key(h) for h in hooks}:
            return Observation.done(
                f"{counted(len(hooks), 'webhook')} notified, one at most once: a run was "
                "stopped while sending to it, so it is not sent again; check the message arrived"
            )
        return Observation.done(f"{counted(len(hooks), 'webhook')} notified")

    def message(self, ctx: ReleaseContext) -> dict[str, object]:
        """The Slack message: built when sent, from the notes the tag holds by then."""
        return slack_message(self.subject(ctx), self.notes(ctx), release_links(ctx))

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        """For each webhook not sent to: its mark on the remote, the message, the mark that
        it was sent; each its own action, so a dry run shows the three pushes and the post."""
        sent, pending = self._record(ctx)
        found: list[Action] = []
        for i, hook in enumerate(ctx.credentials.webhooks, start=1):
            key = self._key(hook)
            if key in sent or key == pending:
                continue
            done = frozenset(sent)  # before sending: a kill cannot send twice

            def send(hook: str = hook, done: frozenset[str] = done) -> None:
                try:
                    post_message(hook, self.message(ctx))
                except ReleaseError:
                    self._remember(ctx, set(done), None)  # not delivered: resuming sends it
                    raise

            text = f"POST <webhook {i}> Slack message: {self.subject(ctx)}, the notes, links"
            found += [
                self._marking(ctx, {"sent": sorted(done), "pending": key}),
                Call(text, send),
                self._marking(ctx, {"sent": sorted(done | {key}), "pending": None}),
            ]
            sent = set(done | {key})
        return found

    def _marking(self, ctx: ReleaseContext, record: dict[str, object]) -> Call:
        text = ctx.records.write_text(self.record_name, record)
        return Call(text, lambda: ctx.records.write(self.record_name, record))


class Email(Announcement, StepBase):
    """Email the release notes: always written to ``release-notes.eml`` in the release's state
    directory, and sent over SMTP when ``[tool.release]`` sets ``smtp_host``.

    A mail server cannot be asked what it delivered, so the sending is recorded on the remote
    (:mod:`release_engine.tools.records`, record ``email``) and that record is what is
    observed. It is written as *pending* before the message goes to the server and as *sent*
    after, so a kill between the two cannot send twice: a *pending* record found by a later run
    (from any clone) means that run was stopped while sending, and the mail is not sent again
    (sent at most once) but reported done with a note to check it arrived. A failure where the
    server took the message for no one marks it *unsent*, so resuming sends it. Skipped when
    neither email_to nor smtp_host is set.
    """

    name, title = "email", "Email release notes"
    file_name, record_name = "release-notes.eml", "email"

    def _file(self, ctx: ReleaseContext) -> Path:
        return ctx.state_dir / self.file_name

    def _record(self, ctx: ReleaseContext) -> dict[str, object]:
        return ctx.records.read(self.record_name) or {}

    def _remember(self, ctx: ReleaseContext, **record: object) -> None:
        ctx.records.write(self.record_name, record)

    @staticmethod
    def server(ctx: ReleaseContext) -> mail.SmtpServer:
        """The configured mail server, with the login from the environment."""
        c, creds = ctx.config, ctx.credentials
        return mail.SmtpServer(
            c.smtp_host, c.smtp_port, c.smtp_starttls, creds.smtp_username, creds.smtp_password
        )

    def observe(self, ctx: ReleaseContext) -> Observation:
        config = ctx.config
        if not config.email_to and not config.smtp_host:
            return Observation.skipped("no email_to or smtp_host in [tool.release]")
        written = self._file(ctx).exists()
        if not config.smtp_host:
            if written:
                return Observation.done(f"written to {self._shown(ctx)} (no smtp_host: not sent)")
            return Observation.pending(f"write {self._shown(ctx)}")
        status = self._record(ctx).get("status")
        if status == "sent":
            return Observation.done(f"sent to {counted(len(config.email_to), 'recipient')}")
        if status == "pending":
            return Observation.done(
                "sent at most once: a run was stopped while sending, so it is not sent again; "
                f"check it arrived, or send {self._shown(ctx)} by hand"
            )
        return Observation.pending(f"email {counted(len(config.email_to), 'recipient')}")

    def _shown(self, ctx: ReleaseContext) -> str:
        file = self._file(ctx)
        return str(file.relative_to(ctx.repo)) if file.is_relative_to(ctx.repo) else str(file)

    def _write(self, ctx: ReleaseContext) -> None:
        links = release_links(ctx)
        message = mail.compose(
            title=self.subject(ctx),
            notes=self.notes(ctx),
            sender=ctx.config.email_from,
            recipients=ctx.config.email_to,
            link=links.release,
        )
        mail.write_message(message, self._file(ctx))

    def _sending(self, ctx: ReleaseContext) -> list[Action]:
        """The record *pending*, the message to the server, the record *sent*: three actions,
        so a dry run shows both pushes of the record around the send."""
        to, refused = list(ctx.config.email_to), list[str]()

        def send() -> None:
            raw = self._file(ctx).read_bytes()
            message = email.message_from_bytes(raw, policy=email.policy.default)
            try:
                refused.extend(mail.send(message, self.server(ctx)))
            except ReleaseError:
                self._remember(ctx, status="unsent", to=to)  # delivered to no one: resume sends
                raise

        def sent() -> None:
            self._remember(ctx, status="sent", to=to, refused=refused)
            if refused:
                raise ReleaseError(
                    f"the mail server refused {', '.join(refused)} (the others were sent to): "
                    f"send {self._shown(ctx)} to them by hand"
                )

        records, name = ctx.records, self.record_name
        server = self.server(ctx).address
        text = f"send the release notes to {counted(len(to), 'recipient')} via {server}"
        pending = {"status": "pending", "to": to}
        done = {"status": "sent", "to": to, "refused": "<the recipients the server refused>"}
        return [
            Call(records.write_text(name, pending), lambda: self._remember(ctx, **pending)),
            Call(text, send),
            Call(records.write_text(name, done), sent),
        ]

    def actions(self, ctx: ReleaseContext) -> list[Action]:
        found: list[Action] = [
            Call(f"write the release notes email to {self._shown(ctx)}", lambda: self._write(ctx))
        ]
        if ctx.config.smtp_host and self._record(ctx).get("status") in (None, "unsent"):
            found += self._sending(ctx)
        return found
