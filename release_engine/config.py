"""The engine's settings: ``[tool.release]`` in pyproject.toml, overridden by command-line flags."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError, MalformedConfigError, UsageError
from .redact import Secrets
from .remotes.index import PASSWORD_ENV, USERNAME_ENV

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, no-redef, unused-ignore]

__all__ = [
    "Credentials",
    "ReleaseConfig",
    "Setting",
    "check_github",
    "load_config",
    "parse_overrides",
    "read_pyproject",
    "tomllib",
]


#: A value of ``[tool.release]``, from pyproject.toml or ``--set KEY=VALUE``.
Setting = str | bool | int | tuple[str, ...]

#: What ``next_cycle`` may say: ``"none"`` leaves main at the release; ``"dev"`` commits
#: ``X.Y.(Z+1).dev0`` on main after each newest stable release made from main, and pushes it.
NEXT_CYCLES = ("none", "dev")

#: How the engine's changes reach main: ``"push"`` pushes main; ``"pull-request"`` pushes a
#: branch and opens, waits for and merges a pull request into main (a protected main).
MERGE_MODES = ("push", "pull-request")


@dataclass(frozen=True)
class ReleaseConfig:
    """Where a release goes. Every field can be set in ``[tool.release]`` or by a flag."""

    package: str
    current_version: str
    main_branch: str = "main"
    remote: str = "origin"
    tag_prefix: str = "v"
    github_repository: str = ""
    github_api_url: str = "https://api.github.com"
    index_url: str = ""
    index_simple_url: str = ""
    image: str = ""
    container_engine: str = "auto"
    registry_tls_verify: bool = True
    base_image: str = ""
    rehearsal_base_image: str = ""
    dockerfile: str = "Dockerfile"
    deploy_manifests: tuple[str, ...] = ()
    notify_webhooks_env: str = "RELEASE_NOTIFY_WEBHOOKS"
    smtp_host: str = ""  # empty: the release notes email is written to the state dir only
    smtp_port: int = 587
    smtp_starttls: bool = True
    email_from: str = ""
    email_to: tuple[str, ...] = ()
    next_cycle: str = "none"
    merge: str = "push"
    pull_request_timeout: int = 1800  # seconds a pull request's required checks are waited for
    required_channels: tuple[str, ...] = ()  # "notify", "email": refused unless configured
    docs_paths: tuple[str, ...] = ("docs/", "README.md")
    version_files: tuple[str, ...] = field(default=())
    changelog_file: str = "CHANGELOG.md"
    fragments_dir: str = "changelog.d"
    #: The review and CI gates, when the token may not read the branch protection.
    required_approvals: int = 1
    required_checks: tuple[str, ...] = ("green",)
    #: The CI matrix's own check: the proof of ``nox -s prerelease`` on GitHub.
    prerelease_check: str = "green"

    def __post_init__(self) -> None:
        if self.next_cycle not in NEXT_CYCLES:
            raise ConfigError(
                f'next_cycle = {self.next_cycle!r}: use "none" (main stays at the release) or '
                '"dev" (main moves to the next X.Y.Z.dev0 after each release)'
            )
        if self.merge not in MERGE_MODES:
            raise ConfigError(
                f'merge = {self.merge!r}: use "push" (the engine pushes main) or "pull-request" '
                "(every change reaches main through a pull request the engine opens and merges)"
            )
        if not isinstance(self.pull_request_timeout, int) or self.pull_request_timeout < 1:
            raise ConfigError(
                f"pull_request_timeout = {self.pull_request_timeout!r}: use a number of seconds"
            )
        if not isinstance(self.smtp_port, int) or not 0 < self.smtp_port < 65536:
            raise ConfigError(f"smtp_port = {self.smtp_port!r}: use a TCP port number")
        _check_api_url(self.github_api_url)

    def with_overrides(self, **overrides: Setting | None) -> ReleaseConfig:
        """A copy with every override that is not ``None`` applied (a flag beats config)."""
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            noun = "setting" if len(unknown) == 1 else "settings"
            raise ConfigError(f"unknown release {noun}: {', '.join(sorted(unknown))}")
        changes: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
        return replace(self, **changes)  # each value was typed by load_config or parse_overrides


@dataclass(frozen=True)
class Credentials:
    """Secrets for the remotes a release writes to, read from the environment only."""

    github_token: str | None = None
    index_username: str | None = None
    index_password: str | None = None
    registry_username: str | None = None
    registry_password: str | None = None
    webhooks: tuple[str, ...] = ()
    smtp_username: str | None = None
    smtp_password: str | None = None

    @classmethod
    def from_env(cls, config: ReleaseConfig, env: dict[str, str] | None = None) -> Credentials:
        env = dict(os.environ) if env is None else env
        hooks = tuple(h for h in env.get(config.notify_webhooks_env, "").split() if h)
        return cls(
            github_token=env.get("GITHUB_TOKEN") or env.get("GH_TOKEN"),
            index_username=env.get(USERNAME_ENV, "__token__"),
            index_password=env.get(PASSWORD_ENV),
            registry_username=env.get("REGISTRY_USERNAME"),
            registry_password=env.get("REGISTRY_PASSWORD"),
            webhooks=hooks,
            smtp_username=env.get("SMTP_USERNAME") or None,
            smtp_password=env.get("SMTP_PASSWORD") or None,
        )

    def secrets(self) -> Secrets:
        """Every value here that output must never show (and the Basic headers made of them)."""
        found = Secrets([self.github_token, *self.webhooks, self.smtp_password])
        found.add_basic(self.index_username, self.index_password)
        found.add_basic(self.registry_username, self.registry_password)
        return found

    def missing(self, config: ReleaseConfig) -> list[str]:
        """One line per credential or setting the configured remotes need and do not have."""
        problems = []
        if config.smtp_host and not (config.email_from and config.email_to):
            problems.append(
                "smtp_host is set but email_from or email_to is empty: set both in [tool.release]"
            )
        if bool(self.smtp_username) != bool(self.smtp_password):
            problems.append("set both SMTP_USERNAME and SMTP_PASSWORD, or neither")
        if config.merge == "pull-request" and not config.github_repository:
            problems.append(
                'merge = "pull-request" needs github_repository: set it in [tool.release], '
                'or use merge = "push"'
            )
        if config.github_repository and not self.github_token:
            problems.append("GITHUB_TOKEN is not set: export a token that can create releases")
        return problems


def check_github(api_url: str, repository: str, token: str | None) -> None:
    """Refuse GitHub settings no request could use, before any request: one line each."""
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repository or ""):
        raise ConfigError(
            f"github_repository must look like owner/name, not {repository!r}: "
            "fix [tool.release] in pyproject.toml"
        )
    _check_api_url(api_url)
    if not token:
        raise ConfigError("GITHUB_TOKEN is not set: export a token that may write releases")


def _check_api_url(api_url: str) -> None:
    url = urlsplit(api_url or "")
    if url.scheme not in ("http", "https") or not url.hostname:
        # Shown without what comes before an "@": credentials, even in a URL with no scheme
        # (which the output's URL redaction does not recognise).
        shown = f"***@{api_url.rpartition('@')[2]}" if "@" in (api_url or "") else api_url
        raise ConfigError(
            f"github_api_url = {shown!r}: use an http(s) URL such as https://api.github.com"
        )


def read_pyproject(repo: Path) -> dict[str, Any]:
    path = repo / "pyproject.toml"
    try:
        with path.open("rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
            return data
    except FileNotFoundError:
        raise ConfigError(f"{path} not found: run the release from the repository's top") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}): fix it and run again") from None


def load_config(repo: Path) -> ReleaseConfig:
    """Read the release settings of the repository at *repo*."""
    data = read_pyproject(repo)
    tool = data.get("tool", {})
    _check_tables(tool)
    bump = tool["bumpversion"]
    table = tool["release"]
    package = table.get("package") or data.get("project", {}).get("name")
    if not package:
        raise ConfigError("set [tool.release] package (or [project] name) in pyproject.toml")
    settings: dict[str, Any] = {}
    for key, value in table.items():
        if key == "package":
            continue
        if isinstance(value, list):
            value = tuple(str(v) for v in value)
        settings[key] = value
    files = tuple(str(entry["filename"]) for entry in bump.get("files", []) if "filename" in entry)
    towncrier = tool["towncrier"]
    return ReleaseConfig(
        package=str(package),
        changelog_file=str(towncrier["filename"]),
        fragments_dir=str(towncrier["directory"]),
        current_version=str(bump["current_version"]),
        version_files=("pyproject.toml", *files),
        **settings,
    )


def _check_tables(tool: dict[str, Any]) -> None:
    """The tables the engine reads, each there and as the schema says, or one line (exit 2):
    a misspelt table name, a missing table or key, an unknown key, a wrong type."""
    from .settings_schema import check_table, check_tool_names

    wrong = check_tool_names(tool)
    bump = tool.get("bumpversion")
    if wrong is None and (not isinstance(bump, dict) or "current_version" not in bump):
        wrong = (
            "pyproject.toml has no [tool.bumpversion] current_version: "
            "add the version files there (see README.md)"
        )
    towncrier = tool.get("towncrier")
    explicit = isinstance(towncrier, dict) and {"directory", "filename"} <= set(towncrier)
    if wrong is None and not explicit:
        # towncrier's own defaults (newsfragments/, NEWS.rst) would build a changelog nobody reads
        wrong = (
            "pyproject.toml has no [tool.towncrier] table with directory and filename: add it "
            '(directory = "changelog.d", filename = "CHANGELOG.md"; see README.md)'
        )
    table = tool.get("release")
    if wrong is None and not isinstance(table, dict):
        wrong = (
            "pyproject.toml has no [tool.release] table: add it (docs/RELEASING.md lists the "
            "settings; docs/tool-release.schema.json is their schema)"
        )
    if wrong is None:
        wrong = check_table(table)  # type: ignore[arg-type]  # a dict: checked above
    if wrong is not None:
        raise MalformedConfigError(wrong)


def parse_overrides(pairs: list[str] | None) -> dict[str, Setting]:
    """``KEY=VALUE`` flags as typed settings, judged by the schema ``[tool.release]`` is
    (:mod:`.settings_schema`); an unknown key or a bad value is one line."""
    from .settings_schema import RENAMED, SETTINGS, parse_setting, suggest

    result: dict[str, Setting] = {}
    for pair in pairs or []:
        key, sep, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if sep and key in RENAMED:
            raise UsageError(f"--set {key} was renamed: use --set {RENAMED[key]}={text}")
        if not sep or key not in SETTINGS:
            near = suggest(key, SETTINGS) if sep else ""
            raise UsageError(
                f"--set {pair!r}: use KEY=VALUE{near} with KEY one of {', '.join(SETTINGS)}"
            )
        value, wrong = parse_setting(key, text)
        if wrong is not None:
            raise UsageError(f"--set {wrong}")
        result[key] = tuple(value) if isinstance(value, list) else value  # type: ignore[assignment]
    try:  # what the settings refuse together is bad input too, said the settings' way
        ReleaseConfig(package="-", current_version="0.0.0").with_overrides(**result)
    except ConfigError as exc:
        raise UsageError(f"--set {exc.message}") from None
    return result
