"""The upgrade check of ``nox -s upgrade``: the previous release and its data, then the new
wheel over them."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from ..cadence import bump_for, count_fragments, newest_stable, next_version
from ..config import ReleaseConfig
from ..errors import UsageError
from ..redact import redact_urls
from ..remotes import index
from ..tools import changelog
from ..tools.git import Git, extract_archive
from ..version import Version, parse_current_version, parse_version, versions_from_tags
from .matrix import PrereleaseError, Runner

__all__ = [
    "PreviousRelease",
    "UpgradeReport",
    "fetch_previous",
    "find_previous",
    "is_first_release",
    "upgrade_check",
    "version_under_test",
]


# --- the upgrade check ----------------------------------------------------------------------
def version_under_test(repo: Path, config: ReleaseConfig, released: Iterable[Version]) -> Version:
    """The version being prepared: the current one, or, once the current one is *released*
    (tagged, or served), the next one the waiting fragments call for (a patch at least)."""
    now = parse_current_version(config.current_version)
    if now not in set(released):
        return now
    names = (p.name for p in changelog.scan_fragments(repo).valid)
    return next_version(now, bump_for(count_fragments(names), now) or "patch")


def _previous_tag(repo: Path, config: ReleaseConfig) -> tuple[Version | None, Version]:
    """The newest stable tagged release below the version under test, and that version."""
    tagged = versions_from_tags(Git(repo).tags(), config.tag_prefix)
    testing = version_under_test(repo, config, tagged)
    return newest_stable(v for v in tagged if v < testing), testing


def is_first_release(git: Git, config: ReleaseConfig) -> bool:
    """No stable release is tagged before the version under test: nothing to upgrade from."""
    return _previous_tag(git.path, config)[0] is None


def _wheel_version(filename: str, package: str) -> Version | None:
    """The release version of *filename* when it is a wheel of *package* (PEP 427 name)."""
    try:
        name, version, _, _ = parse_wheel_filename(filename)
        return parse_version(str(version)) if name == canonicalize_name(package) else None
    except (InvalidWheelFilename, UsageError):
        return None


@dataclass(frozen=True)
class PreviousRelease:
    """The release to upgrade from: a version, from an index (``index_url``) or from a tag."""

    version: Version
    index_url: str | None = None
    filename: str = ""  # the wheel's name on the index

    def __str__(self) -> str:
        where = redact_urls(self.index_url) if self.index_url else "built from its git tag"
        return f"{self.version} ({where})"


def find_previous(
    repo: Path, config: ReleaseConfig, index_url: str | None
) -> tuple[PreviousRelease | None, str]:
    """The newest stable release below the version under test: on *index_url*, else the
    newest tag. The version under test is the current one, or the next one once the current
    one is released (:func:`version_under_test`): on main after 0.2.0, 0.2.0 is previous.

    On an index, yanked wheels are passed over: installers no longer pick them.
    Returns ``(release, "")``, or ``(None, why there is none)``.
    """
    if index_url:
        wheels = {
            v: file.filename
            for file in index.served(index_url, config.package)
            if not file.yanked
            if (v := _wheel_version(file.filename, config.package)) is not None
        }
        tagged = versions_from_tags(Git(repo).tags(), config.tag_prefix)
        testing = version_under_test(repo, config, [*tagged, *wheels])
        newest = newest_stable(v for v in wheels if v < testing)
        if newest is None:
            where = redact_urls(index_url)
            return None, (
                f"{where} holds no stable {config.package} wheel before {testing} "
                "that is not yanked"
            )
        return PreviousRelease(newest, index_url, wheels[newest]), ""
    previous, testing = _previous_tag(repo, config)
    if previous is None:
        return None, (
            f"no release is tagged before {testing} ({config.tag_prefix}* stable) and no "
            "index is given (--index-url, $PRERELEASE_PREVIOUS_INDEX_URL)"
        )
    return PreviousRelease(previous), ""


def fetch_previous(
    run: Runner, previous: PreviousRelease, repo: Path, config: ReleaseConfig, dest: Path
) -> Path:
    """The previous release's wheel in *dest*: downloaded with pip, or built with build."""
    if previous.index_url:
        run(
            "python",
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary",
            ":all:",
            "--index-url",
            previous.index_url,
            "--dest",
            str(dest),
            f"{config.package}=={previous.version}",
        )
        return dest / previous.filename
    tag = previous.version.tag(config.tag_prefix)
    source = dest / "source"
    archive = dest / "source.tar"
    run("git", "-C", str(repo), "archive", "--format=tar", "-o", str(archive), tag)
    extract_archive(archive, source)
    run("python", "-m", "build", "--wheel", "--installer", "uv", "--outdir", str(dest), str(source))
    wheels = sorted(dest.glob("*.whl"))
    if not wheels:
        raise PrereleaseError(f"building {tag} made no wheel in {dest}")
    return wheels[0]


@dataclass(frozen=True)
class UpgradeReport:
    old_version: str
    new_version: str
    old_revision: str
    new_revision: str
    symbols: dict[str, int]

    def __str__(self) -> str:
        return (
            f"upgrade {self.old_version} -> {self.new_version}: database revision "
            f"{self.old_revision} -> {self.new_revision}; {sum(self.symbols.values())} bars "
            f"of {len(self.symbols)} symbols read back intact"
        )


def _last_word(text: str) -> str:
    words = text.split()
    return words[-1] if words else ""


Snapshot = tuple[dict[str, int], dict[str, Any]]


@dataclass
class _Installed:
    """The payload's command in the upgrade's venv, over the one SQLite database."""

    run: Runner
    venv: Path
    db: Path

    def cli(self, *args: str) -> str:
        env = {"MDI_DB_PATH": str(self.db), "MDI_DATABASE_URL": f"sqlite:///{self.db}"}
        return self.run(str(self.venv / "bin" / "market-data-ingestion"), *args, env=env)

    def install(self, wheel: Path, *options: str) -> None:
        self.run("uv", "pip", "install", "--python", str(self.venv / "bin" / "python"),
                 *options, str(wheel))  # fmt: skip

    def snapshot(self) -> Snapshot:
        """Each symbol's bar count (``symbols``), and its bars (``bars NAME --json``)."""
        symbols = {
            name: int(count)
            for name, count in (
                line.split() for line in self.cli("symbols").splitlines() if line.strip()
            )
        }
        return symbols, {name: json.loads(self.cli("bars", name, "--json")) for name in symbols}


def _data_changes(before: Snapshot, after: Snapshot) -> list[str]:
    """What the upgrade changed of the data: a count, or the first bar that differs, per symbol."""
    (symbols, bars), (after_symbols, after_bars) = before, after
    problems = [
        f"{name}: {count} bars before, {after_symbols.get(name, 0)} after"
        for name, count in symbols.items()
        if after_symbols.get(name) != count
    ]
    for name, rows in bars.items():
        for i, (old, new) in enumerate(zip(rows, after_bars.get(name, []), strict=False)):
            changed = {
                key: (value, new.get(key)) for key, value in old.items() if new.get(key) != value
            }
            if changed:
                problems.append(f"{name} bar {i} changed: {changed}")
                break
    return problems


def upgrade_check(
    run: Runner,
    venv: Path,
    old_wheel: Path,
    new_wheel: Path,
    new_version: str,
    workdir: Path,
    python: str = sys.executable,
) -> UpgradeReport:
    """Old release in a fresh venv with data in it; new wheel over it, migrated; data intact."""
    payload = _Installed(run, venv, workdir / "upgrade.sqlite3")
    run("uv", "venv", "--python", python, str(venv))
    payload.install(old_wheel)
    old_version = _last_word(payload.cli("--version"))
    payload.cli("db", "upgrade")
    payload.cli("ingest", "--sample")
    old_revision = _last_word(payload.cli("db", "current"))
    before = payload.snapshot()
    if not before[0]:
        raise PrereleaseError(f"{old_version} ingested its sample, yet `symbols` lists nothing")

    # The same version as the old one (main right after a release) is installed all the same.
    payload.install(new_wheel, "--reinstall-package", str(parse_wheel_filename(new_wheel.name)[0]))
    reported = _last_word(payload.cli("--version"))
    if reported != new_version:
        raise PrereleaseError(
            f"after installing {new_wheel.name} over {old_version}, "
            f"--version reports {reported!r}, not {new_version}"
        )
    payload.cli("db", "upgrade")
    new_revision = _last_word(payload.cli("db", "current"))
    problems = _data_changes(before, payload.snapshot())
    if problems:
        raise PrereleaseError("data did not survive the upgrade: " + "; ".join(problems))
    return UpgradeReport(old_version, new_version, old_revision, new_revision, before[0])
