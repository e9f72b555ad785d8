"""The package index: read through its simple API with pypi-simple, changed only by twine.

:func:`served` says what the index holds for a project (filename, sha256, yanked) and
:func:`plan_uploads` sorts the local dists against it; :func:`check_command` and
:func:`upload_command` are the twine commands, as data. pypi-simple rather than a hand-made
parser: it asks for the PEP 691 JSON page, falls back to the PEP 503 HTML one (pypiserver,
devpi, Artifactory), and reports yanked files, whose names an index still refuses. Names are
read with ``packaging.utils`` (``Market_Data.Ingestion`` is ``market-data-ingestion``).
Passwords travel in an ``Authorization`` header, sent to the index's own host only, and in
``TWINE_PASSWORD``: never in argv or URLs. Error messages show URLs through ``redact_urls``.
"""

from __future__ import annotations

__all__ = [
    "ServedFile",
    "UploadPlan",
    "artifacts",
    "check_command",
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
from collections.abc import Iterable, Iterator, Mapping, Sequence
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
from pypi_simple import (
    ACCEPT_JSON_PREFERRED,
    NoSuchProjectError,
    PyPISimple,
    UnsupportedContentTypeError,
    UnsupportedRepoVersionError,
)
from requests.auth import HTTPBasicAuth

from ..errors import CommandError, ConfigError, ConflictError, ReleaseError, UsageError
from ..proc import Command
from ..redact import redact_urls

_TIMEOUT = (10.0, 60.0)  # seconds to connect, seconds between two reads
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_REFUSED = re.compile(r"already\s+exists|already\s+been\s+used", re.IGNORECASE)  # pypiserver, PyPI
_TWINE = (sys.executable, "-m", "twine", "--no-color")
_Login = tuple[str, str] | None  # (username, password) for the index, or None


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
    """
    login = None if auth is None else _IndexAuth(*auth, index_url=simple_url)
    accept = ACCEPT_JSON_PREFERRED  # PEP 691 JSON, else the PEP 503 HTML page
    with (
        requests.Session() as session,
        PyPISimple(simple_url, auth=login, session=session, accept=accept) as client,
    ):
        page_url = client.get_project_url(project)
        try:
            with _answering(page_url):
                page = client.get_project_page(project, timeout=_TIMEOUT)
        except NoSuchProjectError:
            return []
        files = []
        for package in page.packages:
            digest = package.digests.get("sha256", "")
            sha256 = digest if _SHA256.fullmatch(digest) else _download_sha256(session, package.url)
            files.append(ServedFile(package.filename, sha256.lower(), package.is_yanked))
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

    Anything else (no directory, a missing or second dist, another version, a stray file)
    gives ``[]``: the engine then builds again instead of guessing which file to publish.
    """
    if not dist_dir.is_dir():
        return []
    files = sorted(p for p in dist_dir.iterdir() if p.is_file())
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
    """``twine upload`` of *files* to *repository_url*, the credentials in the environment."""
    if not files:
        raise ReleaseError("there are no distribution files to upload: build them first")
    if urlsplit(repository_url).password:
        raise ConfigError(
            f"the index upload URL {redact_urls(repository_url)} carries a password: put the "
            "password in the index credentials instead, so it never shows in a command line"
        )
    argv = [*_TWINE, "upload", "--verbose", "--non-interactive", "--disable-progress-bar"]
    argv += ["--repository-url", repository_url, *map(str, files)]
    env = {"TWINE_USERNAME": username, "TWINE_PASSWORD": password}
    return Command.of(
        *argv, env=env, secret_env=frozenset({"TWINE_PASSWORD"}), long=True, timeout=900
    )


def upload_refused(exc: CommandError, files: Sequence[Path]) -> ReleaseError:
    """The error to raise for a failed upload: a :class:`ConflictError` when the index refused
    a file because one of that name exists (or existed) there, else *exc* itself."""
    if not _REFUSED.search(exc.output):
        return exc
    names = ", ".join(Path(f).name for f in files)
    return ConflictError(
        f"the package index refused {names}: a file of that name already exists there, "
        "and an index never replaces one (bump the version)"
    )


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
    except (UnsupportedContentTypeError, UnsupportedRepoVersionError, ValueError) as exc:
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
