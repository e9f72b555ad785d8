"""Registries as they are: token auth as ghcr.io and Docker Hub speak it, and blob redirects.

The registry is Debian's docker-registry 2.8 with ``auth: token``; the token server is this
repository's stand-in; the client is the engine's own code: :class:`Registry` (skopeo, with
the authfile it writes) and the engine's push command (podman or buildah).
"""

from __future__ import annotations

import base64
import json
import shutil
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography import x509

from release_engine.errors import CommandError, ConfigError, StandInError
from release_engine.proc import read, run
from release_engine.remotes.registry.client import Registry
from release_engine.remotes.registry.container import BASE_IMAGE, ContainerEngine
from release_engine.standins.registry import ISSUER, SERVICE, RegistryStandIn
from release_engine.standins.registry_proxy import BlobRequest, RedirectingRegistry
from release_engine.standins.token_auth import Grant, TokenAuthority, TokenRequest, TokenServer
from tests.container.conftest import VERSION_LABEL, unavailable

pytestmark = pytest.mark.container
REPOSITORY = "market-data-ingestion"
VERSION = "2.3.4"
TAG = f"v{VERSION}"
READER, READER_PASSWORD = "reader", "reader-password-0123456789"


@pytest.fixture(scope="module")
def skopeo() -> str:
    found = shutil.which("skopeo")
    if found is None:
        unavailable("skopeo is not installed")
    assert found is not None
    return found


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryStandIn]:
    try:
        stand_in = RegistryStandIn(tmp_path_factory.mktemp("registry"), auth="token")
    except StandInError as exc:
        unavailable(f"the token-auth registry stand-in does not start ({exc})")
    with stand_in:
        yield stand_in


def tokens(registry: RegistryStandIn) -> TokenServer:
    assert registry.token_server is not None
    return registry.token_server


def open_registry(
    host: str, path: str, stand_in: RegistryStandIn, authfile: Path, **kw: Any
) -> Registry:
    credentials = {"username": stand_in.username, "password": stand_in.password, **kw}
    return Registry(f"{host}/{path}", tls_verify=False, authfile=authfile, **credentials)


@dataclass(frozen=True)
class Pushed:
    """A one-LABEL image pushed as ``{registry.url}/{path}:TAG`` through token auth."""

    path: str
    local: str
    registry: Registry
    token_requests: list[TokenRequest]


@pytest.fixture(scope="module")
def local_image(engine: ContainerEngine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("tiny")
    (tmp / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\nLABEL org.example.tiny=token\n")
    ref = f"localhost/mdi-token-{uuid.uuid4().hex[:8]}:{TAG}"
    engine.build(tmp, tags=[ref], labels={VERSION_LABEL: VERSION})
    yield ref
    engine.remove(ref)


def push(engine: ContainerEngine, local: str, reg: Registry, tag: str) -> None:
    """Push *local* as *reg*'s *tag* the way the release does: authfile, then push_command.

    The extra local name stays until the module ends: ``podman untag NAME`` (what
    ``ContainerEngine.remove`` runs) drops every name of the image, *local* included.
    """
    ref = reg.push_ref(tag)
    engine.tag(local, ref)
    reg.login()
    run(engine.push_command(ref, tls_verify=False, authfile=reg.authfile))


@pytest.fixture(scope="module")
def pushed(
    engine: ContainerEngine,
    skopeo: str,
    registry: RegistryStandIn,
    local_image: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Pushed]:
    path = f"ns-{uuid.uuid4().hex[:8]}/{REPOSITORY}"
    authfile = tmp_path_factory.mktemp("auth") / "config.json"
    with open_registry(registry.url, path, registry, authfile) as reg:
        before = len(tokens(registry).requests)
        push(engine, local_image, reg, TAG)
        yield Pushed(path, local_image, reg, tokens(registry).requests[before:])


def bearer(registry: RegistryStandIn, scope: str, *, user: str = "", password: str = "") -> str:
    """A token fetched straight from the token server (Basic credentials when *user*)."""
    query = urllib.parse.urlencode({"service": SERVICE, "scope": scope})
    request = urllib.request.Request(f"{tokens(registry).url}?{query}")
    if user:
        basic = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {basic}")
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.load(response)
    assert body["token"] == body["access_token"]
    return str(body["token"])


def registry_status(registry: RegistryStandIn, path: str, token: str) -> int:
    """The registry's status for *path* with *token* (asserted on apart: no token in reports)."""
    request = urllib.request.Request(
        f"{registry.base_url}{path}", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


# --- the token server, as the specification has it -------------------------------------------


def test_registry_challenges_with_bearer_at_the_token_server(registry: RegistryStandIn) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{registry.base_url}/v2/", timeout=5)
    assert caught.value.code == 401
    challenge = caught.value.headers["WWW-Authenticate"]
    assert challenge == f'Bearer realm="{tokens(registry).url}",service="{SERVICE}"'
    assert tokens(registry).url.startswith("http://127.0.0.1:")


def test_token_server_refuses_anonymous_and_wrong_credentials(registry: RegistryStandIn) -> None:
    for user, password, why in (
        ("", "", "authentication required"),
        (registry.username, "not-the-password-0123456789", "invalid username or password"),
        ("nobody", registry.password, "invalid username or password"),
    ):
        with pytest.raises(urllib.error.HTTPError) as caught:
            bearer(registry, "repository:a/b:pull", user=user, password=password)
        assert caught.value.code == 401
        assert caught.value.headers["WWW-Authenticate"].startswith("Basic realm=")
        body = json.loads(caught.value.read())
        assert body == {"errors": [{"code": "UNAUTHORIZED", "message": why, "detail": None}]}
    assert [r.status for r in tokens(registry).requests[-3:]] == [401, 401, 401]
    assert all(r.user == "" and r.granted == () for r in tokens(registry).requests[-3:])


def test_stand_in_guards_fire(registry: RegistryStandIn, tmp_path: Path) -> None:
    server = tokens(registry)
    basic = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
    for method, query, status in (
        ("GET", "service=another-registry&scope=repository:a/b:pull", 400),
        ("POST", f"service={SERVICE}", 405),
    ):
        request = urllib.request.Request(
            f"{server.url}?{query}", method=method, headers={"Authorization": f"Basic {basic}"}
        )
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=5)
        assert caught.value.code == status
        assert json.loads(caught.value.read())["errors"][0]["code"] == "UNSUPPORTED"
    assert server.grant(registry.username, ["nonsense", "repository:a/b:pull"]) == [
        {"type": "repository", "name": "a/b", "actions": ["pull"]}
    ]
    with pytest.raises(StandInError, match="unsupported token algorithm"):
        TokenAuthority("HS256")  # type: ignore[arg-type]
    with pytest.raises(StandInError, match="unknown registry auth"):
        RegistryStandIn(tmp_path / "r", auth="basic")  # type: ignore[arg-type]


def test_token_is_a_signed_jwt_with_the_specified_claims(registry: RegistryStandIn) -> None:
    token = bearer(
        registry, "repository:a/b:pull,push", user=registry.username, password=registry.password
    )
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "JWT" and header["alg"] == "ES256"
    leaf, root = (x509.load_der_x509_certificate(base64.b64decode(c)) for c in header["x5c"])
    # The chain ends at the root the registry trusts (its rootcertbundle).
    bundle = x509.load_pem_x509_certificate((registry.root / "token-root.pem").read_bytes())
    assert root == bundle
    leaf.verify_directly_issued_by(bundle)
    claims = jwt.decode(
        token, leaf.public_key(), algorithms=["ES256"], audience=SERVICE, issuer=ISSUER
    )
    assert set(claims) == {"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "access"}
    assert claims["sub"] == registry.username and claims["aud"] == SERVICE
    assert claims["nbf"] == claims["iat"] and claims["exp"] - claims["iat"] == 300
    assert claims["access"] == [{"type": "repository", "name": "a/b", "actions": ["pull", "push"]}]
    assert bearer(registry, "", user=registry.username, password=registry.password)  # no scope
    again = bearer(
        registry, "repository:a/b:pull", user=registry.username, password=registry.password
    )
    other = jwt.decode(again, options={"verify_signature": False})["jti"]
    assert other != claims["jti"]


def test_rs256_tokens_are_accepted_too(tmp_path: Path) -> None:
    with RegistryStandIn(tmp_path / "registry", auth="token", algorithm="RS256") as rsa:
        token = bearer(rsa, "repository:x/y:pull", user=rsa.username, password=rsa.password)
        status = registry_status(rsa, "/v2/", token)
        assert status == 200
        header = jwt.get_unverified_header(token)
        leaf = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
        claims = jwt.decode(token, leaf.public_key(), algorithms=["RS256"], audience=SERVICE)
        assert header["alg"] == "RS256"
        assert claims["access"] == [{"type": "repository", "name": "x/y", "actions": ["pull"]}]
        with pytest.raises(StandInError, match="below the specification's minimum"):
            tokens(rsa).lifetime = 59
        assert tokens(rsa).lifetime == 300
    with pytest.raises(OSError):
        urllib.request.urlopen(tokens(rsa).url, timeout=2)  # stopped with the registry


def test_scopes_are_granted_only_for_what_the_user_may_do(registry: RegistryStandIn) -> None:
    server = tokens(registry)
    server.add_user(READER, READER_PASSWORD, [Grant("public/*", ("pull",))])
    asked = "repository:public/app:pull,push repository:private/app:pull registry:catalog:*"
    token = bearer(registry, asked, user=READER, password=READER_PASSWORD)
    access = jwt.decode(token, options={"verify_signature": False})["access"]
    assert access == [{"type": "repository", "name": "public/app", "actions": ["pull"]}]
    last = server.requests[-1]
    assert last.user == READER and last.status == 200 and last.service == SERVICE
    assert last.scopes == tuple(asked.split()) and last.granted == ("repository:public/app:pull",)


def test_registry_verifies_signature_expiry_and_access(registry: RegistryStandIn) -> None:
    server = tokens(registry)
    scope = "repository:a/b:pull"
    good = bearer(registry, scope, user=registry.username, password=registry.password)
    status = registry_status(registry, "/v2/a/b/tags/list", good)
    assert status == 404  # allowed; the name is unknown
    # Signed by a key whose chain does not end at the registry's root: refused.
    claims = jwt.decode(good, options={"verify_signature": False})
    forged = TokenAuthority().sign(claims)
    status = registry_status(registry, "/v2/a/b/tags/list", forged)
    assert status == 401
    # Expired beyond the registry's leeway: refused.
    server.age = server.lifetime + 120  # exp two minutes ago; the leeway is one
    try:
        stale = bearer(registry, scope, user=registry.username, password=registry.password)
    finally:
        server.age = 0
    status = registry_status(registry, "/v2/a/b/tags/list", stale)
    assert status == 401
    # Pull granted, push asked for: the registry refuses the upload.
    server.add_user(READER, READER_PASSWORD, [Grant("public/*", ("pull",))])
    reader = bearer(
        registry, "repository:public/app:pull,push", user=READER, password=READER_PASSWORD
    )
    request = urllib.request.Request(
        f"{registry.base_url}/v2/public/app/blobs/uploads/",
        method="POST",
        headers={"Authorization": f"Bearer {reader}"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 401
    assert "insufficient_scope" in caught.value.headers["WWW-Authenticate"]


# --- the engine's code paths against the token-auth registry ---------------------------------


def test_push_inspect_list_and_retag_through_token_auth(
    pushed: Pushed, registry: RegistryStandIn
) -> None:
    reg = pushed.registry
    server = tokens(registry)
    # The push went through the Bearer flow: every token for this user, service and repository.
    assert pushed.token_requests, "the push never asked the token server for a token"
    assert all(r.status == 200 and r.user == registry.username for r in pushed.token_requests)
    assert all(r.service == SERVICE for r in pushed.token_requests)
    push_scope = f"repository:{pushed.path}:pull,push"
    assert any(push_scope in r.scopes and push_scope in r.granted for r in pushed.token_requests)

    before = len(server.requests)
    digest = reg.digest(TAG)
    assert digest is not None and digest.startswith("sha256:") and len(digest) == 71
    argv = ["skopeo", "inspect", "--no-tags", "--tls-verify=false", "--authfile", str(reg.authfile)]
    shown = read([*argv, f"docker://{reg.push_ref(TAG)}"], check=True)
    assert json.loads(shown.stdout)["Digest"] == digest
    labels = reg.labels(TAG)
    assert labels[VERSION_LABEL] == VERSION and labels["org.example.tiny"] == "token"
    assert reg.tags() == [TAG]
    reads = server.requests[before:]
    pull_scope = f"repository:{pushed.path}:pull"
    assert len(reads) >= 4  # each skopeo run asks for its own token
    assert all(r.status == 200 and r.scopes == (pull_scope,) for r in reads)
    assert all(r.granted == (pull_scope,) for r in reads)

    before = len(server.requests)
    run(reg.copy_command(TAG, "latest"))
    copy = server.requests[before:]
    assert any(push_scope in r.granted for r in copy) and any(pull_scope in r.scopes for r in copy)
    assert reg.digest("latest") == digest
    assert sorted(reg.tags()) == ["latest", TAG]


def test_wrong_password_is_one_line_and_nothing_is_pushed(
    engine: ContainerEngine, pushed: Pushed, registry: RegistryStandIn, tmp_path: Path
) -> None:
    secret = "not-the-password-0123456789"
    server = tokens(registry)
    before = len(server.requests)
    wrong = open_registry(registry.url, pushed.path, registry, tmp_path / "a.json", password=secret)
    with wrong:
        # What the image-push step does first: read the registry. One line, no secret.
        for look in (lambda: wrong.digest("rejected"), lambda: wrong.labels(TAG), wrong.tags):
            with pytest.raises(ConfigError) as caught:
                look()
            message = str(caught.value)
            assert "\n" not in message and secret not in message
            assert f"registry {registry.url} refused the credentials" in message
            assert "REGISTRY_USERNAME/REGISTRY_PASSWORD" in message
        # And the push itself is refused without showing the password.
        with pytest.raises(CommandError) as refused:
            push(engine, pushed.local, wrong, "rejected")
        assert secret not in str(refused.value) and secret not in " ".join(refused.value.args_)
    anonymous = Registry(
        f"{registry.url}/{pushed.path}",
        tls_verify=False,
        username=None,
        password=None,
        authfile=tmp_path / "never.json",
    )
    with pytest.raises(ConfigError, match=r"wants a login .*: set and check REGISTRY_USERNAME"):
        anonymous.tags()
    assert all(r.status == 401 for r in server.requests[before:])
    assert len(server.requests) > before
    assert pushed.registry.digest("rejected") is None
    assert "rejected" not in pushed.registry.tags()


def test_tokens_at_the_end_of_their_life_are_fetched_again(
    engine: ContainerEngine, pushed: Pushed, registry: RegistryStandIn, tmp_path: Path
) -> None:
    """``expires_in`` at the specification's minimum, handed out already that old: skopeo and
    podman must fetch a new token for each request of a push and a copy, and both complete."""
    server = tokens(registry)
    path = f"short-{uuid.uuid4().hex[:8]}/{REPOSITORY}"
    server.lifetime = 60
    server.age = 60
    try:
        with open_registry(registry.url, path, registry, tmp_path / "config.json") as reg:
            before = len(server.requests)
            push(engine, pushed.local, reg, TAG)
            pushing = server.requests[before:]
            before = len(server.requests)
            run(reg.copy_command(TAG, "latest"))
            copying = server.requests[before:]
            server.age = 0
            assert reg.digest("latest") == reg.digest(TAG) is not None
    finally:
        server.lifetime, server.age = 300, 0
    push_scope = f"repository:{path}:pull,push"
    for requests in (pushing, copying):
        assert all(r.status == 200 for r in requests)
        same = [r for r in requests if push_scope in r.scopes]
        assert len(same) >= 3, f"only {len(same)} token(s) for {push_scope} in one command"


# --- a registry that redirects blob downloads -------------------------------------------------


@pytest.fixture(scope="module")
def redirecting(registry: RegistryStandIn) -> Iterator[RedirectingRegistry]:
    with RedirectingRegistry(registry) as proxy:
        yield proxy


def test_reads_and_copies_follow_redirects_without_credentials(
    pushed: Pushed, registry: RegistryStandIn, redirecting: RedirectingRegistry, tmp_path: Path
) -> None:
    assert redirecting.url != registry.url
    assert not redirecting.blob_url.endswith(redirecting.url)
    with open_registry(redirecting.url, pushed.path, registry, tmp_path / "a.json") as reg:
        digest = reg.digest(TAG)
        assert digest == pushed.registry.digest(TAG)
        labels = reg.labels(TAG)  # the image config is a blob: redirected
        assert labels[VERSION_LABEL] == VERSION
        assert TAG in reg.tags()
        run(reg.copy_command(TAG, "via-proxy"))
        assert pushed.registry.digest("via-proxy") == digest
        # Every layer downloaded through the redirect, and its bytes as the manifest says.
        oci = tmp_path / "oci"
        argv = ["skopeo", "copy", "--src-tls-verify=false", "--authfile", str(reg.authfile)]
        run([*argv, f"docker://{reg.push_ref(TAG)}", f"oci:{oci}:{TAG}"], timeout=600)
    manifest = json.loads(
        read(["skopeo", "inspect", "--raw", f"oci:{oci}:{TAG}"], check=True).stdout
    )
    layers = {layer["digest"] for layer in manifest["layers"]}
    served = redirecting.blob_requests
    assert redirecting.redirects >= 1 + len(layers)
    assert served and all(r.status == 200 for r in served)
    assert layers <= {r.digest for r in served}
    assert not any(r.authorization for r in served), "a credential reached the blob host"


def test_blob_host_wants_a_signature_and_sees_credentials(
    pushed: Pushed, redirecting: RedirectingRegistry
) -> None:
    """The recorder can see an Authorization header, and no signature means no blob."""
    digest = "sha256:" + "0" * 64
    request = urllib.request.Request(
        f"{redirecting.blob_url}/blobs/{digest}", headers={"Authorization": "Bearer x"}
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 403
    assert redirecting.blob_requests[-1] == BlobRequest(digest, 403, True)


# --- names: what containers/image calls the registry of an image ------------------------------


def test_docker_hub_names_map_to_docker_io(skopeo: str, tmp_path: Path) -> None:
    """containers/image names a Docker Hub image's registry ``docker.io`` (reference.Domain),
    looks its credentials up under that key in the authfile, and connects to
    ``registry-1.docker.io``. Registry must key the authfile the same way."""

    def make(image: str, authfile: Path = tmp_path / "auth.json") -> Registry:
        return Registry(
            image, tls_verify=True, username="hub-user", password="p" * 12, authfile=authfile
        )

    for image in ("org/x", "docker.io/org/x", "index.docker.io/org/x", "docker.io/library/x"):
        assert make(image).host == "docker.io", image
    assert make("localhost/org/x").host == "localhost"
    assert make("localhost:5000/org/x").host == "localhost:5000"
    assert make("ghcr.io/org/x").host == "ghcr.io"
    assert make("org/x").push_ref("v1") == "org/x:v1"  # skopeo expands it, not us
    # skopeo itself finds the credential Registry wrote for a Docker Hub name (no network).
    with make("org/x", tmp_path / "hub.json") as reg:
        reg.login()
        for key in ("docker.io", "docker.io/org/x"):
            login = ["skopeo", "login", "--get-login", "--authfile", str(reg.authfile), key]
            assert read(login, check=True).stdout.strip() == "hub-user"
