"""The package index: read through its simple API, changed only by the upload tool (twine).

:func:`served` says what the index holds for a project (filename, sha256, yanked) and
:func:`plan_uploads` sorts the local dists against it (:mod:`.serving`, :mod:`.dists`);
:func:`check_command` and :func:`upload_command` are the upload tool's commands, as data
(:mod:`.commands`). How an upload authenticates is a :class:`Login` (:func:`choose_login`):
an API token, a username and password, or trusted publishing, whose token :func:`mint_token`
obtains on GitHub Actions (:mod:`.login`). :mod:`.remote` checks the login before anything is
published; :mod:`.upload` is the release's step, loaded with the others
(:mod:`release_engine.steps`).

The names are loaded when first used (PEP 562): the configuration reads the credential
variables below without loading ``requests`` and ``packaging``, which a command that never
asks the index does not need.
"""

from __future__ import annotations

__all__ = [
    "PASSWORD_ENV",
    "TOKEN_USER",
    "USERNAME_ENV",
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

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .commands import check_command, upload_command, upload_refused, yank_guidance
    from .dists import UploadPlan, artifacts, plan_uploads, release_files, sha256_of
    from .login import TOKEN_USER, Login, choose_login, mint_token
    from .serving import ServedFile, await_served, served, served_files

#: The environment variables that hold the index's credentials: the upload tool's own.
USERNAME_ENV = "TWINE_USERNAME"
PASSWORD_ENV = "TWINE_PASSWORD"

_HOMES = {
    "commands": ("check_command", "upload_command", "upload_refused", "yank_guidance"),
    "dists": ("UploadPlan", "artifacts", "plan_uploads", "release_files", "sha256_of"),
    "login": ("TOKEN_USER", "Login", "choose_login", "mint_token"),
    "serving": ("ServedFile", "await_served", "served", "served_files"),
}
_HOME = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    """A public name, from the module that holds it, loaded on first use."""
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
