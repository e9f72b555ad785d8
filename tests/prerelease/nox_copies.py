"""Throwaway copies of this repository on which the meta-tests run the real noxfile.

Every copy shares one nox envdir and the uv cache, so a session's venv is rebuilt in seconds.
Helpers, not fixtures (those are in conftest.py): tests import ``tests.prerelease.nox_copies``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

#: Variables of the developer's (or CI's) environment that would change what a session does.
CLEARED = (
    "CI",
    "MDI_TEST_POSTGRES_URL",
    "MDI_DATABASE_URL",
    "MDI_DB_PATH",
    "PRERELEASE_PREVIOUS_INDEX_URL",
    "PRERELEASE_EXPECTED_VERSION",
    "NOXSESSION",
    "NOX_CURRENT_SESSION",
    "VIRTUAL_ENV",
)
BIN = Path(sys.executable).parent
#: What a copy's nested nox runs get on top: their venvs live for a session or two, so uv
#: compiles nothing ahead (11 s of CPU for the test groups' 4,000 modules) and the processes
#: write the bytecode of what they import, once (empty is unset for Python).
THROWAWAY_VENVS = {"UV_COMPILE_BYTECODE": "0", "PYTHONDONTWRITEBYTECODE": ""}


@dataclass
class Ran:
    args: list[str]
    returncode: int
    output: str

    def __str__(self) -> str:
        return f"$ nox {' '.join(self.args)}\nexit {self.returncode}\n{self.output[-6000:]}"

    def passed(self) -> None:
        assert self.returncode == 0, f"the session failed:\n{self}"

    def failed_with(self, *needles: str) -> None:
        """The run failed, and its output says every one of *needles*."""
        assert self.returncode != 0, f"the session passed, but it should have failed:\n{self}"
        for needle in needles:
            assert needle in self.output, f"the failure does not say {needle!r}:\n{self}"


@dataclass
class Copy:
    """A throwaway git repository holding this repository's files, committed once."""

    path: Path
    envdir: Path

    def nox(
        self, *args: str, env: Mapping[str, str | None] | None = None, timeout: float = 600
    ) -> Ran:
        """Run the copy's noxfile with real nox; output is stdout and stderr together. *env*
        is added on top of :data:`THROWAWAY_VENVS`; a name given None is removed."""
        full_env = {k: v for k, v in os.environ.items() if k not in CLEARED}
        for name, value in {**THROWAWAY_VENVS, **(env or {})}.items():
            if value is None:
                full_env.pop(name, None)
            else:
                full_env[name] = value
        argv = [sys.executable, "-m", "nox", "--noxfile", str(self.path / "noxfile.py")]
        argv += ["--envdir", str(self.envdir), *args]
        proc = subprocess.run(
            argv,
            cwd=self.path,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
        return Ran(list(args), proc.returncode, proc.stdout)

    def run(self, *argv: str | Path, env: dict[str, str] | None = None) -> str:
        proc = subprocess.run(
            [str(a) for a in argv],
            cwd=self.path,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, f"{argv} failed:\n{proc.stdout}{proc.stderr}"
        return proc.stdout

    def build_wheel(self) -> Path:
        """A wheel of the copy where `nox -s build` leaves it (built with uv: faster)."""
        dist = self.path / ".nox-artifacts" / "dist"
        for old in dist.glob("*.whl"):
            old.unlink()
        self.run(sys.executable, "-m", "uv", "build", "--wheel", "--out-dir", dist, self.path)
        (wheel,) = dist.glob("*.whl")
        return wheel

    def bump(self, version: str) -> None:
        self.run(BIN / "bump-my-version", "bump", "--new-version", version)

    def replace(self, relative: str, old: str, new: str) -> None:
        path = self.path / relative
        text = path.read_text()
        assert old in text, f"{relative} no longer holds {old!r}: update this meta-test"
        path.write_text(text.replace(old, new, 1))

    def append(self, relative: str, text: str) -> None:
        path = self.path / relative
        path.write_text(path.read_text() + text)
