"""The package index as a remote: its settings, its login, its reach probe, its stand-in.

Preflight asks the upload endpoint to upload nothing. PyPI (warehouse) and pypiserver check
the login before the form, so a wrong login is ``401``/``403`` and a right one ``400`` for the
missing file; nothing is stored. Trusted publishing mints its token at upload time: preflight
already decided it can. The rehearsal's stand-in is a real pypiserver
(:class:`release_engine.standins.pypi.PackageIndexStandIn`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ...errors import ReleaseError
from ...netcause import unreachable
from ...spec import Spec, url
from .. import Remote
from ..probe import TIMEOUT, answers, origin
from . import PASSWORD_ENV, USERNAME_ENV

if TYPE_CHECKING:
    from contextlib import ExitStack

    from ...config import Credentials, ReleaseConfig
    from ...context import ReleaseContext
    from .. import Check, Rehearsing
    from .login import Login

__all__ = ["PackageIndex", "credentials_login", "index_login"]

USERNAME, PASSWORD = USERNAME_ENV, PASSWORD_ENV


def credentials_login(credentials: Credentials) -> tuple[str, str] | None:
    """The index login of the environment (``__token__`` when no username is given)."""
    password = credentials.get(PASSWORD)
    return (credentials.get(USERNAME) or "__token__", password) if password else None


def index_login(ctx: ReleaseContext) -> Login:
    """How uploads to the index authenticate, from the credentials and the environment
    (GitHub Actions' OIDC variables); a :class:`ConfigError` when no way applies."""
    from .login import choose_login

    creds = ctx.credentials
    login = choose_login(ctx.config.index_url, creds.get(USERNAME) or "__token__",
                         creds.get(PASSWORD), os.environ)  # fmt: skip
    if login.kind == "trusted-publishing":  # it asks GitHub for the job's ID token
        ctx.secrets.add(os.environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"))
    return login


class PackageIndex(Remote):
    stand_in_needs = ("pypiserver", "passlib")
    order = 20
    name = "index"
    public = frozenset({USERNAME})
    settings: ClassVar[dict[str, Spec]] = {
        "index_url": url("the upload URL the release publishes to; empty: none"),
        "index_simple_url": url("the index's simple API; empty: no upload"),
    }

    def variables(self, config: ReleaseConfig) -> tuple[str, ...]:
        return (USERNAME, PASSWORD)

    def logins(self, credentials: Credentials) -> list[tuple[str, str]]:
        login = credentials_login(credentials)
        return [login] if login else []

    def probes(self, ctx: ReleaseContext) -> dict[str, Check]:
        index = ctx.config.index_url
        if not index.startswith("http"):
            return {}
        login = _login(ctx)
        if login is not None and login.password is not None and not login.unavailable:
            user, password = login.username, login.password
            return {"index": lambda: _upload_nothing(index, user, password)}
        return {"index": lambda: answers("the package index", index)}  # no login (said apart)

    def stand_in(self, stack: ExitStack, workdir: Path) -> object:
        from ...standins.pypi import PackageIndexStandIn

        return stack.enter_context(PackageIndexStandIn(workdir / "index"))

    def rehearse(self, stand_in: Any, rehearsing: Rehearsing) -> None:
        rehearsing.settings |= {"index_url": stand_in.upload_url,
                                "index_simple_url": stand_in.simple_url}  # fmt: skip
        rehearsing.environment |= {USERNAME: stand_in.username, PASSWORD: stand_in.password}


def _login(ctx: ReleaseContext) -> Login | None:
    try:
        return ctx.index_login
    except ReleaseError:  # no way to log in: the credentials' check says so
        return None


def _upload_nothing(index: str, username: str, password: str) -> str | None:
    """Ask *index* to upload nothing: the login is checked before the (missing) file."""
    from .. import web

    form = {":action": "file_upload", "protocol_version": "1"}
    try:
        answer = web.fetch("POST", index, data=form, auth=(username, password), timeout=TIMEOUT)
    except web.Failure as exc:
        return unreachable("the package index", index, exc) + ": check index_url"
    if answer.status_code in (401, 403):
        return (
            f"the package index at {origin(index)} refused the login ({answer.status_code}): "
            f"check {USERNAME} and {PASSWORD}"
        )
    if answer.status_code >= 500:
        return f"the package index at {origin(index)} answered {answer.status_code}: try later"
    return None


REMOTE = PackageIndex
