"""A token server for rehearsals: the registry token protocol that ghcr.io and Docker Hub speak.

It implements the distribution token-authentication specification (``docs/spec/auth/token.md``
and ``jwt.md`` of distribution/distribution) for a registry configured with
``auth: token: {realm, service, issuer, rootcertbundle}``:

- ``GET /token?service=S&scope=repository:NAME:pull,push`` (``scope`` repeated, or several
  scopes space-separated in one) with Basic credentials answers ``200`` and
  ``{"token", "access_token", "expires_in", "issued_at"}``;
- anonymous requests and wrong credentials answer ``401`` with the registry's error shape,
  ``{"errors": [{"code": "UNAUTHORIZED", "message": …, "detail": null}]}``; an unknown
  ``service`` answers ``400``;
- each scope is granted as the intersection of the actions asked for and the actions the user
  has on that name; a partial or empty grant is not an error (the registry refuses later);
- the token is a JWT (ES256 or RS256) with ``iss``, ``sub``, ``aud``, ``exp``, ``nbf``, ``iat``,
  ``jti`` and ``access``, whose header carries an ``x5c`` chain: the signing certificate,
  issued by a root certificate that :meth:`TokenAuthority.write_root_bundle` writes for the
  registry's ``rootcertbundle``. distribution 2.8 verifies that chain and the signature.

Why it is hand-written: no maintained Python package is the *issuing* side of this protocol
(docker_auth and the registries' own token services are Go services, not libraries). The
cryptography is not ours: keys and certificates come from ``cryptography`` and the JWT is
signed by ``PyJWT``. What is left is the HTTP exchange above, on the standard library's
threading HTTP server, as the webhook sink does. Refresh tokens (``offline_token``) and the
OAuth2 ``POST`` form are not offered: the container tools use them only with an identity token.

:attr:`TokenServer.requests` records each request (user, service, scopes asked and granted,
status), never a password or a token. :attr:`TokenServer.lifetime` is ``expires_in``;
:attr:`TokenServer.age` hands out tokens that have already lived that many seconds
(``issued_at``, ``iat`` and ``nbf`` in the past), so that a client sees them expire within a
command and must fetch new ones, without waiting a minute in a test.
"""

from __future__ import annotations

__all__ = ["Grant", "TokenAuthority", "TokenRequest", "TokenServer"]

import base64
import binascii
import datetime as dt
import fnmatch
import hmac
import json
import secrets
import threading
import time
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ..errors import StandInError
from ._server import StandIn

Algorithm = Literal["ES256", "RS256"]
#: The token specification: "a token should never be returned with less than 60 seconds to live".
MIN_LIFETIME = 60


@dataclass(frozen=True)
class Grant:
    """What a user may do: *actions* on resources of *type* whose name matches *names* (glob)."""

    names: str = "*"
    actions: tuple[str, ...] = ("pull", "push")
    type: str = "repository"

    def allows(self, type_: str, name: str) -> set[str]:
        if type_ != self.type or not fnmatch.fnmatchcase(name, self.names):
            return set()
        return set(self.actions)


@dataclass(frozen=True)
class TokenRequest:
    """One request to the token endpoint, as the server saw it (no credentials in it)."""

    user: str  #: "" when anonymous
    service: str
    scopes: tuple[str, ...]  #: as asked, ``type:name:actions``
    granted: tuple[str, ...]  #: as put in the token's ``access`` claim, same form
    status: int


class TokenAuthority:
    """A root certificate and a signing certificate it issued, with the signing key."""

    def __init__(self, algorithm: Algorithm = "ES256", *, name: str = "mdi token stand-in") -> None:
        if algorithm not in ("ES256", "RS256"):
            raise StandInError(f"unsupported token algorithm {algorithm!r}: use ES256 or RS256")
        self.algorithm: Algorithm = algorithm
        root_key = _new_key(algorithm)
        self._key = _new_key(algorithm)
        now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
        root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} root")])
        self.root = (
            x509.CertificateBuilder()
            .subject_name(root_name)
            .issuer_name(root_name)
            .public_key(root_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_ca_usage(), critical=True)
            .sign(root_key, hashes.SHA256())
        )
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} signer")]))
            .issuer_name(root_name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(root_key, hashes.SHA256())
        )

    @property
    def x5c(self) -> list[str]:
        """The JWS ``x5c`` header: the signing certificate (base64 DER), then its issuer."""
        return [
            base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
            for cert in (self.certificate, self.root)
        ]

    def write_root_bundle(self, path: Path) -> Path:
        """Write the root certificate (PEM), the registry's ``rootcertbundle``."""
        path.write_bytes(self.root.public_bytes(serialization.Encoding.PEM))
        return path

    def sign(self, claims: Mapping[str, Any]) -> str:
        """The JWT of *claims*, signed, with ``typ``, ``alg`` and ``x5c`` in its header."""
        return jwt.encode(
            dict(claims), self._key, algorithm=self.algorithm, headers={"x5c": self.x5c}
        )


class TokenServer(StandIn):
    """The token endpoint ``{url}`` on 127.0.0.1, for the registry named by *service*.

    *users* maps a username to its password and grants; without grants a user may pull and
    push every repository. Started on construction; :meth:`stop` ends it.
    """

    def __init__(
        self,
        *,
        service: str,
        issuer: str,
        users: Mapping[str, tuple[str, Sequence[Grant]]],
        algorithm: Algorithm = "ES256",
        lifetime: int = 300,
        age: int = 0,
    ) -> None:
        self.service = service
        self.issuer = issuer
        self.authority = TokenAuthority(algorithm)
        self.lifetime = lifetime
        self.age = age
        self._users: dict[str, tuple[str, tuple[Grant, ...]]] = {}
        for user, (password, grants) in users.items():
            self.add_user(user, password, grants)
        self._lock = threading.Lock()
        self._requests: list[TokenRequest] = []
        try:
            self._server = _Server(("127.0.0.1", 0), _Handler)
        except OSError as exc:
            raise StandInError(f"the token server could not listen on 127.0.0.1: {exc}") from exc
        self._server.tokens = self
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="token-server", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """The realm: ``http://127.0.0.1:PORT/token``."""
        return f"http://127.0.0.1:{self.port}/token"

    @property
    def lifetime(self) -> int:
        """``expires_in`` of the tokens handed out, in seconds (at least 60, as the spec says)."""
        return self._lifetime

    @lifetime.setter
    def lifetime(self, seconds: int) -> None:
        if seconds < MIN_LIFETIME:
            raise StandInError(
                f"a token lifetime of {seconds} s is below the specification's minimum of "
                f"{MIN_LIFETIME} s: use age= to hand out tokens close to their expiry"
            )
        self._lifetime = seconds

    def add_user(self, user: str, password: str, grants: Sequence[Grant] = ()) -> None:
        """Let *user* in with *password*; *grants* default to pull and push everywhere."""
        self._users[user] = (password, tuple(grants) or (Grant(),))

    @property
    def requests(self) -> list[TokenRequest]:
        """Every request so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()

    # --- the protocol -----------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> tuple[str | None, str]:
        """``(user, "")`` for good Basic credentials, else ``(None, why)``."""
        if not authorization:
            return None, "authentication required"
        scheme, _, encoded = authorization.partition(" ")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        user, sep, password = decoded.partition(":")
        known = self._users.get(user)
        if scheme.lower() != "basic" or not sep or known is None:
            return None, "invalid username or password"
        if not hmac.compare_digest(known[0].encode(), password.encode()):
            return None, "invalid username or password"
        return user, ""

    def grant(self, user: str, scopes: Iterable[str]) -> list[dict[str, Any]]:
        """The ``access`` claim: each scope's actions intersected with what *user* may do."""
        grants = self._users[user][1]
        access: dict[tuple[str, str], list[str]] = {}
        for scope in scopes:
            type_, sep, rest = scope.partition(":")
            name, sep2, actions = rest.rpartition(":")
            if not (sep and sep2 and type_ and name):
                continue  # malformed: nothing is granted for it
            allowed: set[str] = set()
            for grant in grants:
                allowed |= grant.allows(type_, name)
            wanted = [a for a in actions.split(",") if a]
            given = access.setdefault((type_, name), [])
            given += [a for a in wanted if (a in allowed or "*" in allowed) and a not in given]
        return [
            {"type": type_, "name": name, "actions": actions}
            for (type_, name), actions in access.items()
            if actions
        ]

    def issue(self, user: str, access: list[dict[str, Any]]) -> dict[str, Any]:
        """The token response for *user* with the *access* claim."""
        issued = int(time.time()) - self.age
        claims = {
            "iss": self.issuer,
            "sub": user,
            "aud": self.service,
            "exp": issued + self.lifetime,
            "nbf": issued,
            "iat": issued,
            "jti": secrets.token_urlsafe(18),
            "access": access,
        }
        token = self.authority.sign(claims)
        stamp = dt.datetime.fromtimestamp(issued, dt.timezone.utc)
        return {
            "token": token,
            "access_token": token,
            "expires_in": self.lifetime,
            "issued_at": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def _record(self, request: TokenRequest) -> None:
        with self._lock:
            self._requests.append(request)


def _new_key(algorithm: Algorithm) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _scopes(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(scope for value in values for scope in value.split() if scope)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Kept-alive connections: headers and body are two writes, and with Nagle the body waits
    # for the ACK of the headers, which the client delays by 40 ms (TCP delayed ACK).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read .requests
        pass

    def _json(self, status: int, body: object, headers: Mapping[str, str] = {}) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: str, message: str, headers: Mapping[str, str] = {}) -> None:
        body = {"errors": [{"code": code, "message": message, "detail": None}]}
        self._json(status, body, headers)

    def do_GET(self) -> None:
        tokens = self.server.tokens
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            self._error(404, "NOT_FOUND", "no such endpoint: the realm is /token")
            return
        query = urllib.parse.parse_qs(url.query)
        service = (query.get("service") or [""])[0]
        scopes = _scopes(query.get("scope") or [])
        user, why = tokens.authenticate(self.headers.get("Authorization"))
        if user is None:
            tokens._record(TokenRequest("", service, scopes, (), 401))
            challenge = f'Basic realm="{tokens.url}"'
            self._error(401, "UNAUTHORIZED", why, {"WWW-Authenticate": challenge})
            return
        if service != tokens.service:
            tokens._record(TokenRequest(user, service, scopes, (), 400))
            self._error(400, "UNSUPPORTED", f"unknown service {service!r}")
            return
        access = tokens.grant(user, scopes)
        granted = tuple(f"{a['type']}:{a['name']}:{','.join(a['actions'])}" for a in access)
        tokens._record(TokenRequest(user, service, scopes, granted, 200))
        self._json(200, tokens.issue(user, access))

    def do_POST(self) -> None:
        self.close_connection = True  # the body is not read
        self._error(405, "UNSUPPORTED", "the OAuth2 form is not offered: use GET with Basic")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    tokens: TokenServer
