"""Trusted publishing, both ends: GitHub Actions' ID-token endpoint and an index's token exchange.

GitHub's end (:class:`ActionsIdTokens`): a job granted ``permissions: id-token: write`` has
``ACTIONS_ID_TOKEN_REQUEST_URL`` and ``ACTIONS_ID_TOKEN_REQUEST_TOKEN``; ``GET
{url}&audience=AUD`` with ``Authorization: bearer {token}`` answers ``{"count": 1, "value":
JWT}``, an RS256 token of ``https://token.actions.githubusercontent.com`` carrying the job's
claims (``repository``, ``job_workflow_ref``, ``environment``, ``ref``, ``sha`` …).

The index's end (:class:`TokenExchange`), PyPI's as warehouse's ``oidc/views.py`` serves it
and the package index stand-in mounts it on its own origin: ``GET /_/oidc/audience`` answers
``{"audience": "pypi"}``; ``POST /_/oidc/mint-token`` with ``{"token": JWT}`` answers
``{"success": true, "token": "pypi-…", "expires": T}``, a token good for 15 minutes as the
upload password of ``__token__``, or 422 ``{"message": "Token request failed", "errors":
[{"code": …, "description": …}]}`` with PyPI's codes: ``invalid-payload`` (no JSON, a malformed
JWT, an unknown issuer), ``invalid-token`` (signature, audience, expiry), ``invalid-reuse-token``
(a JWT used before), ``invalid-publisher`` (a valid token no trusted publisher matches).
"""

from __future__ import annotations

__all__ = ["ISSUER", "ActionsIdTokens", "TokenExchange"]

import json
import secrets
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from ..errors import StandInError
from ._server import StandIn

ISSUER = "https://token.actions.githubusercontent.com"
TOKEN_LIFETIME = 900  # seconds: PyPI's minted tokens, and the upload tool's assumption about them
_Answer = tuple[int, dict[str, Any]]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: requests carry tokens
        pass

    def do_GET(self) -> None:
        status, body = self.server.tokens.answer(self.path, self.headers.get("Authorization"))
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    tokens: ActionsIdTokens


class ActionsIdTokens(StandIn):
    """GitHub Actions' OIDC token endpoint for one job of *repository*'s *workflow*.

    :meth:`env` is what the runner sets in that job's environment; :attr:`requests` counts
    the token requests answered 200.
    """

    def __init__(
        self,
        repository: str = "your-org/finbot",
        *,
        workflow: str = "release.yml",
        environment: str = "release",
        ref: str = "refs/heads/main",
    ) -> None:
        self.repository, self.workflow, self.environment, self.ref = (
            repository,
            workflow,
            environment,
            ref,
        )
        self.request_token = secrets.token_urlsafe(24)
        self.run_id = str(secrets.randbelow(10**10) + 10**10)
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_key = self._key.public_key()
        self.key_id = secrets.token_hex(8)
        self._path = (
            f"/_apis/distributedtask/hubs/Actions/plans/{uuid.uuid4()}/jobs/{uuid.uuid4()}/idtoken"
        )
        self.requests = 0
        self.refused = 0
        self._lock = threading.Lock()
        try:
            self._server = _Server(("127.0.0.1", 0), _Handler)
        except OSError as exc:
            raise StandInError(f"the Actions ID-token stand-in could not listen: {exc}") from exc
        self._server.tokens = self
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="actions-oidc", daemon=True
        )
        self._thread.start()

    @property
    def request_url(self) -> str:
        """``ACTIONS_ID_TOKEN_REQUEST_URL``: it carries a query, so ``&audience=`` follows."""
        return f"http://127.0.0.1:{self.port}{self._path}?api-version=2.0"

    def env(self) -> dict[str, str]:
        """The variables a job granted ``id-token: write`` finds in its environment."""
        return {
            "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": self.repository,
            "GITHUB_REF": self.ref,
            "GITHUB_RUN_ID": self.run_id,
            "GITHUB_RUN_ATTEMPT": "1",
            "ACTIONS_ID_TOKEN_REQUEST_URL": self.request_url,
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": self.request_token,
        }

    def issue(self, audience: str, **claims: Any) -> str:
        """A signed ID token for this job and *audience*; *claims* override the job's."""
        now = int(time.time())
        workflow_ref = f"{self.repository}/.github/workflows/{self.workflow}@{self.ref}"
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "aud": audience,
            "sub": f"repo:{self.repository}:environment:{self.environment}",
            "repository": self.repository,
            "repository_owner": self.repository.split("/")[0],
            "workflow_ref": workflow_ref,
            "job_workflow_ref": workflow_ref,
            "environment": self.environment,
            "ref": self.ref,
            "sha": "0" * 40,
            "event_name": "workflow_dispatch",
            "jti": str(uuid.uuid4()),
            "iat": now,
            "nbf": now - 5,
            "exp": now + 300,
            **claims,
        }
        return jwt.encode(payload, self._key, algorithm="RS256", headers={"kid": self.key_id})

    def answer(self, path: str, authorization: str | None) -> _Answer:
        parts = urlsplit(path)
        if parts.path != self._path:
            return 404, {"message": "Not Found"}
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(token, self.request_token):
            with self._lock:
                self.refused += 1
            return 401, {"message": "Bad credentials: the request token is not this job's"}
        audience = parse_qs(parts.query).get("audience", [f"https://github.com/{self.repository}"])
        with self._lock:
            self.requests += 1
        return 200, {"count": 1, "value": self.issue(audience[-1])}

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()


@dataclass(frozen=True)
class _Publisher:
    """A trusted publisher as PyPI's *Add a new publisher → GitHub* records it."""

    repository: str
    workflow: str
    environment: str
    key: rsa.RSAPublicKey


class TokenExchange:
    """An index's trusted publishing endpoints; :meth:`accepts` says whether a minted token is
    good for an upload right now. :attr:`counts` counts requests by path."""

    def __init__(self, audience: str = "pypi") -> None:
        self.audience = audience
        self.counts: Counter[str] = Counter()
        self._publishers: list[_Publisher] = []
        self._minted: dict[str, float] = {}  # token -> when it expires
        self._used: set[str] = set()  # the jti of every JWT exchanged: none is taken twice
        self._lock = threading.Lock()

    def trust(
        self, job: ActionsIdTokens, *, workflow: str | None = None, environment: str | None = None
    ) -> None:
        """Register *job*'s repository, *workflow* and *environment* (by default the job's own)
        as a trusted publisher, and its issuer's signing key."""
        self._publishers.append(
            _Publisher(
                job.repository,
                job.workflow if workflow is None else workflow,
                job.environment if environment is None else environment,
                job.public_key,
            )
        )

    @property
    def minted(self) -> list[str]:
        """Every upload token minted so far."""
        with self._lock:
            return list(self._minted)

    def answer(self, method: str, path: str, body: bytes) -> _Answer | None:
        """The answer to a request for *path*, or None when *path* is not one of these."""
        route = urlsplit(path).path
        if route not in ("/_/oidc/audience", "/_/oidc/mint-token"):
            return None
        with self._lock:
            self.counts[route] += 1
        if route == "/_/oidc/audience":
            if method != "GET":
                return 405, {"message": "Method Not Allowed"}
            return 200, {"audience": self.audience}
        if method != "POST":
            return 405, {"message": "Method Not Allowed"}
        return self._mint(body)

    def accepts(self, token: str) -> bool:
        with self._lock:
            return self._minted.get(token, 0.0) > time.time()

    def _mint(self, body: bytes) -> _Answer:
        try:
            payload = json.loads(body)
            unverified = payload["token"]
            if not isinstance(unverified, str):
                raise TypeError("token is not a string")
        except (ValueError, KeyError, TypeError) as exc:
            return _invalid("invalid-payload", f"1 validation error for TokenPayload: {exc}")
        try:
            claims = jwt.decode(unverified, options={"verify_signature": False})
            issuer = claims["iss"]
        except (jwt.PyJWTError, KeyError):
            return _invalid("invalid-payload", "malformed JWT")
        if issuer != ISSUER:
            return _invalid("invalid-payload", "unknown trusted publishing issuer")
        for publisher in self._publishers:
            try:
                claims = jwt.decode(
                    unverified,
                    publisher.key,
                    algorithms=["RS256"],
                    audience=self.audience,
                    issuer=ISSUER,
                    options={"require": ["exp", "iat", "nbf", "aud", "iss", "jti"]},
                )
            except jwt.PyJWTError:
                continue
            break
        else:
            return _invalid("invalid-token", "malformed or invalid token")
        with self._lock:
            if claims["jti"] in self._used:
                return _invalid("invalid-reuse-token", "invalid token: already used")
            self._used.add(claims["jti"])
        if not any(_matches(p, claims) for p in self._publishers):
            return _invalid(
                "invalid-publisher",
                "valid token, but no corresponding publisher "
                "(Publisher with matching claims was not found)",
            )
        token = "pypi-" + secrets.token_urlsafe(48)
        expires = int(time.time()) + TOKEN_LIFETIME
        with self._lock:
            self._minted[token] = expires
        return 200, {"success": True, "token": token, "expires": expires}


def _matches(publisher: _Publisher, claims: dict[str, Any]) -> bool:
    workflow = f"{publisher.repository}/.github/workflows/{publisher.workflow}@"
    return (
        claims.get("repository") == publisher.repository
        and str(claims.get("job_workflow_ref", "")).startswith(workflow)
        and (not publisher.environment or claims.get("environment") == publisher.environment)
    )


def _invalid(code: str, description: str) -> _Answer:
    return 422, {
        "message": "Token request failed",
        "errors": [{"code": code, "description": description}],
    }
