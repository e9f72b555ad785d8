"""The package index, observed through its PEP 503 simple pages and changed only through twine.

:func:`served_files` says what the index already holds (filename → sha256),
:func:`plan_uploads` compares it with the local dists, :func:`upload` sends what is missing.
Passwords travel in ``TWINE_PASSWORD`` and ``Authorization`` headers, never in argv or URLs.
"""

from __future__ import annotations

__all__ = [
    "UploadPlan",
    "check",
    "normalize",
    "plan_uploads",
    "served_files",
    "sha256_of",
    "upload",
]

import base64
import hashlib
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import NamedTuple

from ..errors import CommandError, ConfigError, ConflictError, ReleaseError
from ..proc import run
from ..redact import redact, register_secret

_TIMEOUT = 60


class UploadPlan(NamedTuple):
    """Local dists sorted by what the index holds under the same filename."""

    to_upload: list[Path]
    already_there: list[Path]
    conflicts: list[Path]


def normalize(project: str) -> str:
    """PEP 503 normalized name: ``Market_Data.Ingestion`` → ``market-data-ingestion``."""
    return re.sub(r"[-_.]+", "-", project).lower()


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def _open(url: str, username: str | None, password: str | None) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": "text/html"})
    if username is not None and password is not None:
        pair = base64.b64encode(f"{username}:{password}".encode()).decode()
        register_secret(pair)
        request.add_header("Authorization", f"Basic {pair}")
    with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
        body: bytes = response.read()
        return body


def served_files(
    simple_url: str,
    project: str,
    *,
    username: str | None = None,
    password: str | None = None,
) -> dict[str, str]:
    """Return ``{filename: sha256}`` of every file the index serves for *project*.

    A project the index does not know (404) serves nothing. A link without a ``#sha256=``
    fragment is downloaded and hashed, so the answer is always complete.
    """
    register_secret(password)
    page_url = f"{simple_url.rstrip('/')}/{normalize(project)}/"
    try:
        page = _open(page_url, username, password).decode("utf-8", errors="replace")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return {}
        if exc.code in (401, 403):
            raise ConfigError(
                f"the package index answered {exc.code} for {redact(page_url)}: "
                "check the index username and password"
            ) from None
        raise ReleaseError(
            f"the package index answered {exc.code} {exc.reason} for {redact(page_url)}"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ReleaseError(
            redact(f"could not reach the package index at {page_url}: {reason}")
        ) from None
    parser = _Links()
    parser.feed(page)
    served: dict[str, str] = {}
    for href in parser.hrefs:
        absolute = urllib.parse.urljoin(page_url, href)
        parts = urllib.parse.urlsplit(absolute)
        filename = urllib.parse.unquote(parts.path.rsplit("/", 1)[-1])
        if not filename:
            continue
        match = re.search(r"(?:^|&)sha256=([0-9a-fA-F]{64})(?:&|$)", parts.fragment)
        if match:
            served[filename] = match.group(1).lower()
        else:
            file_url = urllib.parse.urlunsplit(parts._replace(fragment=""))
            served[filename] = hashlib.sha256(_open(file_url, username, password)).hexdigest()
    return served


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


def check(files: Sequence[Path | str]) -> None:
    """Run ``twine check --strict`` on *files*; raise :class:`CommandError` if any fails."""
    if not files:
        raise ReleaseError("there are no distribution files to check")
    argv = [sys.executable, "-m", "twine", "--no-color", "check", "--strict"]
    run([*argv, *(os.fspath(f) for f in files)])


def upload(
    files: Sequence[Path | str],
    *,
    repository_url: str,
    username: str,
    password: str,
) -> None:
    """Upload *files* (none: nothing to do) with twine; credentials go through the environment.

    An index that refuses a file because it already exists raises :class:`ConflictError`;
    any other failure raises :class:`CommandError` with twine's (redacted) output.
    """
    register_secret(password)
    if urllib.parse.urlsplit(repository_url).password:
        register_secret(repository_url)
    if not files:
        return
    argv = [
        sys.executable,
        "-m",
        "twine",
        "--no-color",
        "upload",
        "--verbose",
        "--non-interactive",
        "--disable-progress-bar",
        "--repository-url",
        repository_url,
        *(os.fspath(f) for f in files),
    ]
    env = {"TWINE_USERNAME": username, "TWINE_PASSWORD": password}
    try:
        run(argv, env=env)
    except CommandError as exc:
        if re.search(r"already\s+exists", exc.output, re.IGNORECASE):  # PyPI, pypiserver
            names = ", ".join(Path(f).name for f in files)
            raise ConflictError(
                f"the package index refused {names}: a file of that name already exists "
                "there, and an index never replaces one (bump the version)"
            ) from exc
        raise
