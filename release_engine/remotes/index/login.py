"""How an upload to the package index authenticates: a :class:`Login` (:func:`choose_login`)
is an API token, a username and password (``TWINE_USERNAME``, ``TWINE_PASSWORD``), or trusted
publishing, whose token :func:`mint_token` obtains on GitHub Actions.
"""

from __future__ import annotations

__all__ = ["TOKEN_USER", "Login", "choose_login", "mint_token"]

from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit

from ...errors import ConfigError, ReleaseError
from ...redact import redact_urls
from .serving import TIMEOUT, socket_reason

if TYPE_CHECKING:
    import requests

TOKEN_USER = "__token__"
_PYPI_HOSTS = ("pypi.org", "upload.pypi.org", "test.pypi.org")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_OIDC_ENV = ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")


class Login(NamedTuple):
    """How uploads authenticate: :attr:`kind` is ``"trusted-publishing"``, ``"api-token"`` or
    ``"password"``; a trusted publishing *password* is minted when the upload runs."""

    kind: str
    username: str
    password: str | None
    #: Why trusted publishing cannot mint here (a job without ``id-token: write``); a dry run,
    #: which uploads nothing, notes it, a release refuses with it.
    unavailable: str = ""

    def describe(self) -> str:
        """What the preflight prints after ``index credentials:``."""
        if self.kind == "trusted-publishing":
            return "trusted publishing (GitHub Actions OIDC)"
        if self.kind == "api-token":
            return f"API token (TWINE_USERNAME {TOKEN_USER}, TWINE_PASSWORD)"
        return f"username and password (TWINE_USERNAME {self.username}, TWINE_PASSWORD)"


def choose_login(
    index_url: str, username: str | None, password: str | None, env: Mapping[str, str]
) -> Login:
    """The :class:`Login` the index credentials and the environment *env* make.

    A password (``TWINE_PASSWORD``) wins: with ``__token__`` (or no username) it is an API
    token, else a username and password. Without one, a GitHub Actions job that may request
    an OIDC token (``id-token: write`` sets ``ACTIONS_ID_TOKEN_REQUEST_URL`` and ``…_TOKEN``)
    publishes through trusted publishing (:attr:`Login.unavailable` says why it cannot when
    the job may not). Anything else is a :class:`ConfigError` of one line.
    """
    parts = urlsplit(index_url)
    host = (parts.hostname or "").lower()
    user = username or TOKEN_USER
    if password:
        if user != TOKEN_USER:
            if host in _PYPI_HOSTS:
                raise ConfigError(
                    f"{host} takes no username and password for uploads (TWINE_USERNAME is "
                    f"{user}): set TWINE_USERNAME={TOKEN_USER} and TWINE_PASSWORD to an API "
                    "token, or publish from GitHub Actions with trusted publishing"
                )
            return Login("password", user, password)
        if host in _PYPI_HOSTS and not password.startswith("pypi-"):
            raise ConfigError(
                f"TWINE_PASSWORD is not an API token of {host} (those start with pypi-): "
                f"create one in your {host} account settings, under API tokens"
            )
        return Login("api-token", TOKEN_USER, password)
    if env.get("GITHUB_ACTIONS") != "true":
        raise ConfigError(
            "TWINE_PASSWORD is not set: export the package index's API token (with "
            f"TWINE_USERNAME={TOKEN_USER} or unset), or TWINE_USERNAME and TWINE_PASSWORD; "
            "on GitHub Actions, trusted publishing needs neither"
        )
    if user != TOKEN_USER:
        raise ConfigError(
            f"TWINE_USERNAME is {user} but TWINE_PASSWORD is not set: export its password, or "
            "unset TWINE_USERNAME to publish with trusted publishing"
        )
    if parts.scheme != "https" and host not in _LOOPBACK:
        raise ConfigError(
            f"the index upload URL {redact_urls(index_url)} is not https: trusted publishing "
            "sends its tokens over https only; use the index's https URL"
        )
    missing = [name for name in _OIDC_ENV if not env.get(name)]
    if missing:
        unavailable = (
            f"TWINE_PASSWORD is not set and this GitHub Actions job cannot request an OIDC "
            f"token ({missing[0]} is not set): give the job 'permissions: id-token: write' for "
            "trusted publishing, or export TWINE_PASSWORD"
        )
        return Login("trusted-publishing", TOKEN_USER, None, unavailable)
    return Login("trusted-publishing", TOKEN_USER, None)


def mint_token(index_url: str) -> str:
    """Trusted publishing's exchange, as PyPI documents it and twine and pypa's publish action
    make it: the audience from ``{origin}/_/oidc/audience``, the job's ID token for it from
    GitHub Actions (through ``id``, twine's own), then ``POST {origin}/_/oidc/mint-token``
    ``{"token": JWT}``. Returns the upload token (good for 15 minutes) for ``__token__``."""
    import requests  # here: only trusted publishing asks the index over HTTP
    from id import IdentityError, detect_credential  # twine's own dependency

    parts = urlsplit(index_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    with requests.Session() as session:
        answer = _exchange(session, "GET", f"{origin}/_/oidc/audience")
        audience = answer.get("audience")
        if not isinstance(audience, str):
            raise ReleaseError(
                f"{origin}/_/oidc/audience names no audience: the index has no trusted "
                "publishing; export TWINE_PASSWORD (an API token) instead"
            )
        try:
            jwt = detect_credential(audience)
        except IdentityError as exc:
            raise ReleaseError(
                f"GitHub Actions gave no OIDC token ({redact_urls(str(exc))}): check the job's "
                "'permissions: id-token: write', or export TWINE_PASSWORD"
            ) from None
        if jwt is None:
            raise ReleaseError(
                "no OIDC token: this is not a GitHub Actions job; export TWINE_PASSWORD"
            )
        answer = _exchange(session, "POST", f"{origin}/_/oidc/mint-token", {"token": jwt})
    token = answer.get("token")
    if not isinstance(token, str) or not token:
        raise ReleaseError(f"{origin}/_/oidc/mint-token answered no token: try again")
    return token


def _exchange(
    session: requests.Session, method: str, url: str, body: dict[str, str] | None = None
) -> dict[str, object]:
    """One trusted publishing request; what goes wrong is one line naming PyPI's reasons."""
    import requests

    try:
        response = session.request(method, url, json=body, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise ReleaseError(
            f"could not reach the package index at {redact_urls(url)}: {socket_reason(exc)}"
        ) from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        answer = {}
    if response.ok:
        return answer
    if response.status_code == 404:
        raise ReleaseError(
            f"the package index answered 404 for {redact_urls(url)}: it has no trusted "
            "publishing; export TWINE_PASSWORD (an API token) instead"
        )
    errors = answer.get("errors")
    reasons = "; ".join(
        f"{e.get('code')}: {e.get('description')}"
        for e in (errors if isinstance(errors, list) else [])
        if isinstance(e, dict)
    )
    raise ReleaseError(
        f"the package index refused the trusted publishing exchange ({response.status_code}"
        f"{', ' + reasons if reasons else ''}): check the project's trusted publisher on the "
        "index (owner, repository, workflow file, environment) against this job"
    )
