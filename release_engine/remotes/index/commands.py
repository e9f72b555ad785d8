"""The upload tool's commands against the package index, as data, and what a failed upload
means: :func:`check_command` and :func:`upload_command` are twine's, with the password in
``TWINE_PASSWORD`` (never in argv or URLs); :func:`upload_refused` reads twine's output;
:func:`yank_guidance` says what to do by hand about a rolled-back version.
"""

from __future__ import annotations

__all__ = ["check_command", "upload_command", "upload_refused", "yank_guidance"]

import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name

from ...errors import CommandError, ConfigError, ConflictError, ReleaseError
from ...proc import Command
from ...redact import redact_urls
from .dists import other_bytes, sha256_of

_EXISTS = re.compile(r"already\s+exists|409 Conflict", re.IGNORECASE)  # PyPI, pypiserver
_ANSWER = re.compile(r"HTTPError:\s*(\d{3}[^\n]*?)(?:\s+from\s+\S+)?\s*$", re.MULTILINE)
_USED = re.compile(r"already\s+been\s+used", re.IGNORECASE)  # PyPI: a deleted file's name
_TWINE = (sys.executable, "-m", "twine", "--no-color")


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
        return ConflictError(other_bytes(other))
    if exists:
        return None
    names = ", ".join(Path(f).name for f in files)
    return ConflictError(
        f"the package index refused {names}: a file of that name was deleted from it, and an "
        "index never takes a deleted file's name again (PyPI: 'This filename has already been "
        "used'); this version cannot be uploaded there, so release the next one"
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
