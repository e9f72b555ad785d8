"""The package index's reach check: the upload endpoint asked to upload nothing.

PyPI (warehouse) and pypiserver check the login before the form, so a wrong login is
``401``/``403`` and a right one ``400`` for the missing file; nothing is stored. Trusted
publishing mints its token at upload time: preflight already decided it can.
"""

from __future__ import annotations

__all__ = ["check"]

from urllib.parse import urlsplit

import requests

from ...netcause import unreachable
from . import PASSWORD_ENV, USERNAME_ENV

_TIMEOUT = 10.0


def check(url: str, username: str, password: str) -> str | None:
    """Ask *url* to upload nothing: the login is checked before the (missing) file."""
    form = {":action": "file_upload", "protocol_version": "1"}
    try:
        answer = requests.post(url, data=form, auth=(username, password), timeout=_TIMEOUT)
    except requests.RequestException as exc:
        return unreachable("the package index", url, exc) + ": check index_url"
    if answer.status_code in (401, 403):
        return (
            f"the package index at {_origin(url)} refused the login ({answer.status_code}): "
            f"check {USERNAME_ENV} and {PASSWORD_ENV}"
        )
    if answer.status_code >= 500:
        return f"the package index at {_origin(url)} answered {answer.status_code}: try later"
    return None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
