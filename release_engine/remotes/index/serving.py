"""What the package index serves, read through its simple API.

:func:`served` says what the index holds for a project (filename, sha256, yanked). The page
is asked for as PEP 691 JSON, with the PEP 503 HTML one as the fallback (pypiserver, devpi,
Artifactory), and yanked files are reported, whose names an index still refuses:
:mod:`.simple_api` reads both (and says why it is not pypi-simple). The pages and files are
read through :func:`..web.fetch` (urllib3; it says why not requests). Passwords travel in an
``Authorization`` header, sent to the index's own origin only, on every redirect's hop too.
Error messages show URLs through ``redact_urls``. An index serves what it took with a delay
(PyPI's pages come through a CDN):
:func:`await_served` asks again, with a growing pause and a bound, until it does.
"""

from __future__ import annotations

__all__ = ["TIMEOUT", "ServedFile", "await_served", "served", "served_files", "socket_reason"]

import hashlib
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ...errors import ConfigError, ConflictError, ReleaseError
from ...netcause import timed_out
from ...proc import memoized
from ...redact import redact_urls
from .. import web
from . import simple_api
from .dists import other_bytes, plan_uploads

TIMEOUT = (10.0, 60.0)  # seconds to connect, seconds between two reads
_Login = tuple[str, str] | None  # (username, password) for the index, or None


@dataclass(frozen=True)
class ServedFile:
    """One file the index serves for a project: its name, its sha256, whether it is yanked."""

    filename: str
    sha256: str
    yanked: bool = False


def served(simple_url: str, project: str, *, auth: _Login = None) -> list[ServedFile]:
    """Every file the index at *simple_url* serves for *project*, yanked ones included.

    A project the index does not know (404) serves nothing. A file listed without a sha256
    is downloaded and hashed, so every entry has one. *auth* is ``(username, password)``.
    Read once while only observing (:func:`~release_engine.proc.memoized`).
    """
    key = ("index", simple_url, project, auth)
    return memoized(key, lambda: _served(simple_url, project, auth=auth))


def _served(simple_url: str, project: str, *, auth: _Login) -> list[ServedFile]:
    auth = auth or web.without_login(simple_url)[1]  # a login in the URL: for the files too
    page_url = simple_api.project_url(simple_url, project)
    with _answering(page_url):
        accept = {"Accept": simple_api.ACCEPT}
        response = web.fetch("GET", page_url, headers=accept, timeout=TIMEOUT,
                             auth=auth, auth_origin=simple_url)  # fmt: skip
        if response.status_code == 404:  # a project the index does not know
            return []
        response.raise_for_status()
        packages = simple_api.parse_page(
            response.content, response.headers.get("Content-Type", ""), response.url
        )
    files = []
    for package in packages:
        sha256 = package.sha256 or _download_sha256(package.url, auth, simple_url)
        files.append(ServedFile(package.filename, sha256.lower(), package.yanked))
    return files


def served_files(simple_url: str, project: str, *, auth: _Login = None) -> dict[str, str]:
    """``{filename: sha256}`` of every file the index serves for *project* (see :func:`served`)."""
    return {f.filename: f.sha256 for f in served(simple_url, project, auth=auth)}


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
            raise ConflictError(other_bytes(p.name for p in plan.conflicts))
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


# --- helpers ------------------------------------------------------------------------------------
def _download_sha256(url: str, auth: _Login, simple_url: str) -> str:
    """The sha256 of the file at *url*, read in chunks; *auth* goes to the index's origin
    (*simple_url*'s) only, never to a file host elsewhere."""
    digest = hashlib.sha256()
    with _answering(url):
        web.fetch("GET", url, timeout=TIMEOUT, into=digest.update,
                  auth=auth, auth_origin=simple_url).raise_for_status()  # fmt: skip
    return digest.hexdigest()


@contextmanager
def _answering(url: str) -> Iterator[None]:
    """Turn what can go wrong asking the index for *url* into a :class:`ReleaseError`."""
    shown = redact_urls(url)
    try:
        yield
    except web.StatusError as exc:
        code = exc.answer.status_code
        if code in (401, 403):
            raise ConfigError(
                f"the package index answered {code} for {shown}: "
                "check the index username and password"
            ) from None
        reason = exc.answer.reason
        raise ReleaseError(
            f"the package index answered {code} {reason} for {shown}: "
            "check the index URL, or try again once the index is well"
        ) from None
    except ValueError as exc:  # simple_api.NotSimpleAPI, an URL urllib3 cannot use
        raise ConfigError(  # a web page, an upload URL, a malformed URL: not the simple API
            f"{shown} is not a simple-API page the engine can read ({redact_urls(str(exc))}): "
            "check the index URL"
        ) from None
    except web.Failure as exc:
        raise ReleaseError(f"could not reach the package index at {shown}: {_why(exc)}") from None


def _why(exc: BaseException) -> str:
    """Why the index could not be asked: no answer in time, or the socket's reason."""
    if timed_out(exc):
        return f"no answer within {TIMEOUT[1]:.0f} s"
    return redact_urls(socket_reason(exc))


def socket_reason(exc: BaseException) -> str:
    """The socket-level reason under a urllib3 or requests error ("Connection refused"), else
    its text."""
    error: object = exc
    while isinstance(error, BaseException):
        if isinstance(error, OSError) and error.strerror:
            return error.strerror
        error = getattr(error, "reason", None) or error.__cause__ or error.__context__
    return str(exc)
