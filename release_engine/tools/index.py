"""The package index: read through its simple API, changed only by twine.

:func:`served` says what the index holds for a project (filename, sha256, yanked) and
:func:`plan_uploads` sorts the local dists against it; :func:`check_command` and
:func:`upload_command` are the twine commands, as data. The page is asked for as PEP 691
JSON, with the PEP 503 HTML one as the fallback (pypiserver, devpi, Artifactory), and yanked
files are reported, whose names an index still refuses: :mod:`.simple_api` reads both (and
says why it is not pypi-simple). Names are read with ``packaging.utils``
(``Market_Data.Ingestion`` is ``market-data-ingestion``).
Passwords travel in an ``Authorization`` header, sent to the index's own host only, and in
``TWINE_PASSWORD``: never in argv or URLs. Error messages show URLs through ``redact_urls``.

How an upload authenticates is a :class:`Login` (:func:`choose_login`): an API token, a
username and password, or trusted publishing, whose token :func:`mint_token` obtains on
GitHub Actions. An index serves what it took with a delay (PyPI's pages come through a CDN):
:func:`await_served` asks again, with a growing pause and a bound, until it does.
"""

from __future__ import annotations

__all__ = [
    "Login",
    "ServedFile",
    "UploadPlan",
    "artifacts",
    "await_served",
    "check_command",
    "choose_login",
    "mint_token",
    "plan_uploads",
    "release_files",
    "served",
    "served_files",
    "sha256_of",
    "upload_command",
    "upload_refused",
    "yank_guidance",
]

import hashlib
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import requests
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version
from requests.auth import HTTPBasicAuth

from ..errors import CommandError, ConfigError, ConflictError, ReleaseError, UsageError
from ..proc import Command, memoized
from ..redact import redact_urls
from . import simple_api

_TIMEOUT = (10.0, 60.0)  # seconds to connect, seconds between two reads
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_EXISTS = re.compile(r"already\s+exists|409 Conflict", re.IGNORECASE)  # PyPI, pypiserver
_ANSWER = re.compile(r"HTTPError:\s*(\d{3}[^\n]*?)(?:\s+from\s+\S+)?\s*$", re.MULTILINE)
_USED = re.compile(r"already\s+been\s+used", re.IGNORECASE)  # PyPI: a deleted file's name
_TWINE = (sys.executable, "-m", "twine", "--no-color")
_Login = tuple[str, str] | None  # (username, password) for the index, or None
TOKEN_USER = "__token__"
_PYPI_HOSTS = ("pypi.org", "upload.pypi.org", "test.pypi.org")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_OIDC_ENV = ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")


@dataclass(frozen=True)
class ServedFile:
    """One file the index serves for a project: its name, its sha256, whether it is yanked."""

    filename: str
    sha256: str
    yanked: bool = False


class UploadPlan(NamedTuple):
    """Local dists sorted by what the index holds under the same filename."""

    to_upload: list[Path]
    already_there: list[Path]
    conflicts: list[Path]


def served(simple_url: str, project: str, *, auth: _Login = None) -> list[ServedFile]:
    """Every file the index at *simple_url* serves for *project*, yanked ones included.

    A project the index does not know (404) serves nothing. A file listed without a sha256
    is downloaded and hashed, so every entry has one. *auth* is ``(username, password)``.
    Read once while only observing (:func:`~release_engine.proc.memoized`).
    """
    key = ("index", simple_url, project, auth)
    return memoized(key, lambda: _served(simple_url, project, auth=auth))


def _served(simple_url: str, project: str, *, auth: _Login) -> list[ServedFile]:
    login = None if auth is None else _IndexAuth(*auth, index_url=simple_url)
    page_url = simple_api.project_url(simple_url, project)
    with requests.Session() as session:
        session.auth = login
        with _answering(page_url):
            response = session.get(
                page_url, headers={"Accept": simple_api.ACCEPT}, timeout=_TIMEOUT
            )
            if response.status_code == 404:  # a project the index does not know
                return []
            response.raise_for_status()
            packages = simple_api.parse_page(
                response.content, response.headers.get("Content-Type", ""), response.url
            )
        files = []
        for package in packages:
            sha256 = package.sha256 or _download_sha256(session, package.url)
            files.append(ServedFile(package.filename, sha256.lower(), package.yanked))
        return files


def served_files(simple_url: str, project: str, *, auth: _Login = None) -> dict[str, str]:
    """``{filename: sha256}`` of every file the index serves for *project* (see :func:`served`)."""
    return {f.filename: f.sha256 for f in served(simple_url, project, auth=auth)}


def sha256_of(path: Path | str) -> str:
    """The hex sha256 of the file at *path*."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def plan_uploads(
    files: Sequence[Path] | Mapping[Path, str], served: Mapping[str, str]
) -> UploadPlan:
    """Sort local *files* against *served* (filename → sha256); nothing goes over the network.

    *files* is a list of paths (hashed here) or a mapping path → sha256 already known.
    Not on the index → upload; there with the same sha256 → already there; there with a
    different sha256 → conflict (an index never lets a filename be replaced).
    """
    hashes = dict(files) if isinstance(files, Mapping) else {Path(f): sha256_of(f) for f in files}
    plan = UploadPlan([], [], [])
    for path in sorted(hashes, key=lambda p: p.name):
        there = served.get(path.name)
        if there is None:
            plan.to_upload.append(path)
        elif there.lower() == hashes[path].lower():
            plan.already_there.append(path)
        else:
            plan.conflicts.append(path)
    return plan


def artifacts(dist_dir: Path, package: str, version: str) -> list[Path]:
    """``[sdist, wheel]`` when *dist_dir* holds exactly those two files of *package* *version*.

    PEP 740 attestations beside them (``<file>.<kind>.attestation``) are not counted.
    Anything else (no directory, a missing or second dist, another version, a stray file)
    gives ``[]``: the engine then builds again instead of guessing which file to publish.
    """
    if not dist_dir.is_dir():
        return []
    files = sorted(p for p in dist_dir.iterdir() if p.is_file() and p.suffix != ".attestation")
    want = _release(package, version)
    kinds = {_kind(p.name, want): p for p in files}
    if len(files) == 2 and "sdist" in kinds and "wheel" in kinds:
        return [kinds["sdist"], kinds["wheel"]]
    return []


def release_files(names: Iterable[str], package: str, version: str) -> list[str]:
    """The names among *names*, in their order, that are an sdist or a wheel of *package*
    *version*; names that are not distribution file names are left out."""
    want = _release(package, version)
    return [name for name in names if _kind(name, want) is not None]


def check_command(dist_dir: Path) -> Command:
    """``twine check --strict`` of every file in *dist_dir* (twine expands the ``*`` itself)."""
    return Command.of(*_TWINE, "check", "--strict", f"{dist_dir}/*")


def upload_command(
    files: Sequence[Path], *, repository_url: str, username: str, password: str
) -> Command:
    """``twine upload`` of *files* to *repository_url*, the credentials in the environment;
    with ``--attestations`` when *files* include attestation files."""
    if not files:
        raise ReleaseError("there are no distribution files to upload: build them first")
    if urlsplit(repository_url).password:
        raise ConfigError(
            f"the index upload URL {redact_urls(repository_url)} carries a password: put the "
            "password in the index credentials instead, so it never shows in a command line"
        )
    if not password:  # twine takes an empty TWINE_PASSWORD as the password itself
        raise ConfigError(
            "the upload has no index password or token: export TWINE_PASSWORD, or run on "
            "GitHub Actions with trusted publishing"
        )
    argv = [*_TWINE, "upload", "--verbose", "--non-interactive", "--disable-progress-bar"]
    if any(Path(f).suffix == ".attestation" for f in files):  # PEP 740, beside each dist
        argv.append("--attestations")
    argv += ["--repository-url", repository_url, *map(str, files)]
    env = {"TWINE_USERNAME": username, "TWINE_PASSWORD": password}
    return Command.of(
        *argv, env=env, secret_env=frozenset({"TWINE_PASSWORD"}), long=True, timeout=900
    )


def upload_refused(
    exc: CommandError, files: Sequence[Path], served: Mapping[str, str] | None = None
) -> ReleaseError | None:
    """What a failed upload of *files* means, given what the index *served* after it.

    The index refused a filename it holds (pypiserver's 409, PyPI's 400 "File already exists";
    PyPI answers 200 to the same bytes again): ``None`` when it serves no other bytes under
    it, for :func:`await_served` to compare the sha256 once the index shows the file (its pages
    can lag behind). Other bytes under a name are a :class:`ConflictError`, the one case where
    the version is to be bumped; a name PyPI keeps from a deleted file ("This filename has
    already been used") is one too. Any other failure is *exc* itself.
    """
    served = served or {}
    local = {Path(f): sha256_of(f) if Path(f).is_file() else "" for f in files}
    if all(served.get(p.name) == sha for p, sha in local.items()):
        return None  # stored in spite of the error (a 503 after the store): same bytes served
    used, exists = _USED.search(exc.output), _EXISTS.search(exc.output)
    if not (used or exists):
        answer = _ANSWER.search(exc.output)
        if answer is None:
            return exc
        names = ", ".join(Path(f).name for f in files)
        return ReleaseError(
            f"the package index answered {answer.group(1).strip()} to the upload of {names}, "
            "and does not serve it"
        )
    other = [p.name for p, sha in local.items() if p.name in served and served[p.name] != sha]
    if other:
        return ConflictError(_other_bytes(other))
    if exists:
        return None
    names = ", ".join(Path(f).name for f in files)
    return ConflictError(
        f"the package index refused {names}: a file of that name was deleted from it, and an "
        "index never takes a deleted file's name again (PyPI: 'This filename has already been "
        "used'); this version cannot be uploaded there, so release the next one"
    )


def _other_bytes(names: Iterable[str]) -> str:
    return (
        f"the package index serves {', '.join(names)} with other bytes than this build: an "
        "index never replaces a file (bump the version)"
    )


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
    try:
        response = session.request(method, url, json=body, timeout=_TIMEOUT)
    except requests.RequestException as exc:
        raise ReleaseError(
            f"could not reach the package index at {redact_urls(url)}: {_reason(exc)}"
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


def await_served(
    read: Callable[[], Mapping[str, str]],
    local: Mapping[Path, str],
    *,
    bound: float,
    progress: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, str]:
    """Ask *read* (filename → sha256) until the index serves every file of *local* (path →
    sha256); return what it serves then.

    An index's pages can lag behind an upload it took (PyPI's come through a CDN, which may
    even hold a new project's 404): a missing file is asked for again after a pause that
    doubles from 0.5 s up to 8 s, each announced on *progress*, for at most *bound* seconds,
    and then it is a :class:`ReleaseError`. Other bytes under a name are a ConflictError.
    """
    started, pause = clock(), 0.5
    while True:
        served = dict(read())
        plan = plan_uploads(local, served)
        if plan.conflicts:
            raise ConflictError(_other_bytes(p.name for p in plan.conflicts))
        if not plan.to_upload:
            return served
        names = ", ".join(p.name for p in plan.to_upload)
        waited = clock() - started
        if waited >= bound:
            raise ReleaseError(
                f"the package index still does not serve {names} {waited:.0f} s after the "
                "upload: its pages lag behind (PyPI's come through a CDN); look at the "
                "project's page on the index, and resume once it shows them"
            )
        pause = min(pause, bound - waited)
        progress(
            f"the package index does not serve {names} yet; asking again in {pause:.1f} s "
            f"({waited:.0f} of {bound:.0f} s)"
        )
        sleep(pause)
        pause = min(pause * 2, 8.0)


def yank_guidance(simple_url: str, project: str, version: str, reason: str) -> str:
    """What to do on the index about a rolled-back *version*: an index never deletes and
    re-uploads a file, so the release is *yanked* (PEP 592): installers skip it unless pinned."""
    name = canonicalize_name(project)
    host = (urlsplit(simple_url).hostname or "").lower()
    if host in ("pypi.org", "test.pypi.org"):
        return (
            f"yank {project} {version} on {host}: https://{host}/manage/project/{name}/release/"
            f"{version}/ -> Options -> Yank, reason {reason!r} (PEP 592: pip then skips it "
            "unless pinned; a file name can never be uploaded again, so fix forward)"
        )
    return (
        f"yank {project} {version} on {simple_url or 'the package index'} if it supports PEP 592 "
        f"yanking, reason {reason!r} (pypiserver does not: remove its files from the server's "
        "package directory); a file name can never be uploaded again, so fix forward"
    )


# --- helpers ------------------------------------------------------------------------------------
class _IndexAuth(HTTPBasicAuth):
    """HTTP Basic auth sent to the index's own origin only, never to a file host elsewhere."""

    def __init__(self, username: str, password: str, *, index_url: str) -> None:
        super().__init__(username, password)
        self.origin = _origin(index_url)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return super().__call__(r) if _origin(r.url or "") == self.origin else r


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or default


def _download_sha256(session: requests.Session, url: str) -> str:
    digest = hashlib.sha256()
    with _answering(url), session.get(url, stream=True, timeout=_TIMEOUT) as response:
        response.raise_for_status()
        for chunk in response.iter_content(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def _answering(url: str) -> Iterator[None]:
    """Turn what can go wrong asking the index for *url* into a :class:`ReleaseError`."""
    shown = redact_urls(url)
    try:
        yield
    except requests.HTTPError as exc:
        code = exc.response.status_code if exc.response is not None else 0
        if code in (401, 403):
            raise ConfigError(
                f"the package index answered {code} for {shown}: "
                "check the index username and password"
            ) from None
        reason = exc.response.reason if exc.response is not None else ""
        raise ReleaseError(
            f"the package index answered {code} {reason} for {shown}: "
            "check the index URL, or try again once the index is well"
        ) from None
    except requests.Timeout:
        raise ReleaseError(
            f"could not reach the package index at {shown}: no answer within {_TIMEOUT[1]:.0f} s"
        ) from None
    except ValueError as exc:  # simple_api.NotSimpleAPI, an URL requests cannot use
        raise ConfigError(  # a web page, an upload URL, a malformed URL: not the simple API
            f"{shown} is not a simple-API page the engine can read ({redact_urls(str(exc))}): "
            "check the index URL"
        ) from None
    except requests.RequestException as exc:
        raise ReleaseError(
            f"could not reach the package index at {shown}: {redact_urls(_reason(exc))}"
        ) from None


def _reason(exc: BaseException) -> str:
    """The socket-level reason under a requests error ("Connection refused"), else its text."""
    error: object = exc
    while isinstance(error, BaseException):
        if isinstance(error, OSError) and error.strerror:
            return error.strerror
        error = getattr(error, "reason", None) or error.__cause__ or error.__context__
    return str(exc)


def _release(package: str, version: str) -> tuple[NormalizedName, Version]:
    try:
        return canonicalize_name(package), Version(version)
    except InvalidVersion:
        raise UsageError(f"{version!r} is not a PEP 440 version: give one like 1.2.3") from None


def _kind(filename: str, want: tuple[NormalizedName, Version]) -> str | None:
    """``"sdist"`` or ``"wheel"`` when *filename* is one of release *want*, else ``None``."""
    try:
        if filename.endswith(".whl"):
            name, version, *_ = parse_wheel_filename(filename)
            kind = "wheel"
        else:
            name, version = parse_sdist_filename(filename)
            kind = "sdist"
    except (InvalidSdistFilename, InvalidWheelFilename, InvalidVersion):
        return None
    return kind if (name, version) == want else None
