"""The package index: read through its simple API, changed only by the upload tool (twine).

:func:`served` says what the index holds for a project (filename, sha256, yanked) and
:func:`plan_uploads` sorts the local dists against it (:mod:`.served`, :mod:`.dists`);
:func:`check_command` and :func:`upload_command` are the upload tool's commands, as data
(:mod:`.commands`). How an upload authenticates is a :class:`Login` (:func:`choose_login`):
an API token, a username and password, or trusted publishing, whose token :func:`mint_token`
obtains on GitHub Actions (:mod:`.login`). The release's step that uploads is
:mod:`.upload`, loaded with the other steps (:mod:`release_engine.steps`).
"""

from __future__ import annotations

__all__ = [
    "TOKEN_USER",
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

from .commands import check_command, upload_command, upload_refused, yank_guidance
from .dists import UploadPlan, artifacts, plan_uploads, release_files, sha256_of
from .login import TOKEN_USER, Login, choose_login, mint_token
from .served import ServedFile, await_served, served, served_files
