"""The engine's settings: ``[tool.release]`` in pyproject.toml, overridden by command-line flags."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, make_dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, MalformedConfigError, UsageError
from .proc import memoized
from .redact import Secrets
from .remotes import remotes

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, no-redef, unused-ignore]

__all__ = [
    "Credentials",
    "ReleaseConfig",
    "Setting",
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
class CoreConfig:
    """Where a release goes: the engine's own settings. Each remote's
    (:attr:`release_engine.remotes.Remote.settings`) are fields of :class:`ReleaseConfig`,
    which is this class with them added. Every field can be set in ``[tool.release]`` or by
    ``--set``."""

    package: str
    current_version: str
    main_branch: str = "main"
    remote: str = "origin"
    tag_prefix: str = "v"
    deploy_manifests: tuple[str, ...] = ()
    next_cycle: str = "none"
    merge: str = "push"
    pull_request_timeout: int = 1800  # seconds a pull request's required checks are waited for
    required_channels: tuple[str, ...] = ()  # announcers' channels: refused unless configured
    docs_paths: tuple[str, ...] = ("docs/", "README.md")
    version_files: tuple[str, ...] = field(default=())
    changelog_file: str = "CHANGELOG.md"
    fragments_dir: str = "changelog.d"

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
        for remote in remotes():
            wrong = remote.invalid(self)  # type: ignore[arg-type]  # a ReleaseConfig
            if wrong:
                raise ConfigError(wrong)

    def with_overrides(self, **overrides: Setting | None) -> ReleaseConfig:
        """A copy with every override that is not ``None`` applied (a flag beats config)."""
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            noun = "setting" if len(unknown) == 1 else "settings"
            raise ConfigError(f"unknown release {noun}: {', '.join(sorted(unknown))}")
        changes: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
        return replace(self, **changes)  # type: ignore[return-value]  # typed by the schema


def _with_remotes() -> type:
    """:class:`CoreConfig` with every remote's settings as fields, defaults as declared."""
    added = [
        (key, Any, field(default=spec.default))
        for remote in remotes()
        for key, spec in remote.settings.items()
    ]
    made = make_dataclass("ReleaseConfig", added, bases=(CoreConfig,), frozen=True)
    made.__module__ = __name__
    return made


if TYPE_CHECKING:

    class ReleaseConfig(CoreConfig):
        """:class:`CoreConfig` and every remote's settings (typed by the schema)."""

        def __init__(self, package: str, current_version: str, **settings: Any) -> None: ...

        def __getattr__(self, name: str) -> Any: ...

else:
    ReleaseConfig = _with_remotes()


@dataclass(frozen=True)
class Credentials:
    """Secrets for the remotes a release writes to, read from the environment only: each
    remote's variables (:meth:`release_engine.remotes.Remote.variables`), by name."""

    values: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        return self.values.get(name) or None

    def words(self, name: str) -> list[str]:
        """A variable holding several values (webhook URLs), split at whitespace."""
        return (self.values.get(name) or "").split()

    @classmethod
    def from_env(cls, config: ReleaseConfig, env: Mapping[str, str] | None = None) -> Credentials:
        env = os.environ if env is None else env
        names = [name for remote in remotes() for name in remote.variables(config)]
        return cls({name: env[name] for name in names if env.get(name)})

    def secrets(self) -> Secrets:
        """Every value here that output must never show (and the Basic headers made of them)."""
        public = {name for remote in remotes() for name in remote.public}
        found = Secrets()
        for name, value in self.values.items():
            if name not in public:
                found.add(value)
                for word in value.split():
                    found.add(word)
        for remote in remotes():
            for user, password in remote.logins(self):
                found.add_basic(user, password)
        return found

    def missing(self, config: ReleaseConfig) -> list[str]:
        """One line per credential or setting the configured remotes need and do not have."""
        return [line for remote in remotes() for line in remote.missing(config, self)]


def read_pyproject(repo: Path) -> dict[str, Any]:
    """*repo*'s pyproject.toml, parsed; while only observing, parsed once per content (its
    size and modification time), however many checks ask."""
    path = repo / "pyproject.toml"
    try:
        stat = path.stat()
    except FileNotFoundError:
        return _parse_pyproject(path)  # which says so
    return memoized(("pyproject", str(path), stat.st_size, stat.st_mtime_ns),
                    lambda: _parse_pyproject(path))  # fmt: skip


def _parse_pyproject(path: Path) -> dict[str, Any]:
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
