"""Every stakeholder channel the project requires is configured, with its credential.

The release process tells people of a release twice: a Slack message (internal) and the
release notes by email (customers). ``required_channels`` in ``[tool.release]`` says which of
them a release of this project must reach; one not configured would be skipped after
publishing, and nobody told. Refused here instead, unless ``--skip-channels`` waives it
(printed). A dry run, which sends nothing, notes what a run would lack: the job that checks
a release on CI holds no channel secret.

- ``notify``: at least one webhook URL in ``$RELEASE_NOTIFY_WEBHOOKS`` (``notify_webhooks_env``).
- ``email``: ``smtp_host``, ``email_from`` and ``email_to`` set, and the login
  (``SMTP_USERNAME``, ``SMTP_PASSWORD``) exported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..context import ReleaseContext
    from . import Findings

__all__ = ["check", "lacking"]


def lacking(ctx: ReleaseContext) -> list[str]:
    """One line per required channel that is not configured with its credential."""
    config, creds = ctx.config, ctx.credentials
    found = []
    if "notify" in config.required_channels and not creds.webhooks:
        found.append(
            f"notify is a required channel but ${config.notify_webhooks_env} holds no webhook "
            "URL: export the Slack webhook URLs, or pass --skip-channels"
        )
    if "email" in config.required_channels:
        unset = [k for k in ("smtp_host", "email_from", "email_to") if not getattr(config, k)]
        if unset:
            found.append(
                f"email is a required channel but {', '.join(unset)} is empty: set it in "
                "[tool.release] (or --set), or pass --skip-channels"
            )
        elif not (creds.smtp_username and creds.smtp_password):
            found.append(
                f"email is a required channel but SMTP_USERNAME and SMTP_PASSWORD are not both "
                f"set: export the login at {config.smtp_host}, or pass --skip-channels"
            )
    return found


def check(ctx: ReleaseContext, found: Findings) -> None:
    if not ctx.config.required_channels:
        return
    if ctx.options.skip_channels:
        found.notes.append(
            f"required channels check skipped (--skip-channels): "
            f"{', '.join(ctx.config.required_channels)} may not be told"
        )
        return
    missing = lacking(ctx)
    if found.dry_run:
        found.notes += [f"a release would be refused: {line}" for line in missing]
    else:
        found.problems += missing
