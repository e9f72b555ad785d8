"""``noxfile.py`` does nothing at import but define sessions; a broken config is one line.

Importing the noxfile must not read pyproject.toml, import the engine, or change ``sys.path``
or the environment: ``nox -l`` then works whatever state the project is in, and a session that
needs the broken config stops with the one ``session.error`` line that says what to fix.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.prerelease.nox_copies import Copy

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
BROKEN_TOML = "\n[tool.release\n"  # an unclosed table header: not valid TOML

# Loads the noxfile the way nox does (a module from a file path), from a directory that is not
# the repository, and prints what the import did besides defining sessions.
IMPORT_PROBE = """
import importlib.util, json, os, sys
from pathlib import Path

opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
path, environ = list(sys.path), dict(os.environ)
spec = importlib.util.spec_from_file_location("user_nox_module", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)

import nox.registry

print(json.dumps({
    "sessions": sorted(nox.registry.get()),
    "engine_modules": sorted(m for m in sys.modules if m.split(".")[0] == "release_engine"),
    "read_pyproject": [p for p in opened if Path(p).name == "pyproject.toml"],
    "sys_path_changed": sys.path != path,
    "environ_changed": sorted(set(os.environ.items()) ^ set(environ.items())),
}))
"""


def test_importing_the_noxfile_only_defines_sessions(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE, str(REPO / "noxfile.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    found = json.loads(out.splitlines()[-1])
    assert {"prerelease", "fragments", "lint", "upgrade"} <= set(found["sessions"])
    assert found["engine_modules"] == []
    assert found["read_pyproject"] == []
    assert not found["sys_path_changed"]
    assert found["environ_changed"] == []


def test_listing_sessions_with_a_broken_pyproject(repo_copy: Copy) -> None:
    repo_copy.append("pyproject.toml", BROKEN_TOML)
    ran = repo_copy.nox("-l")
    ran.passed()
    assert "Traceback" not in ran.output, ran
    for session in ("prerelease", "fragments", "lint", "upgrade"):
        assert f" {session} " in ran.output, ran


@pytest.mark.parametrize(
    "session",
    [
        "fragments",  # the engine's settings: load_config
        "lint",  # the dependency groups only: nox.project.load_toml
        "prerelease",  # no venv of its own; the nested runs are never started
    ],
)
def test_session_with_a_broken_pyproject_fails_in_one_line(repo_copy: Copy, session: str) -> None:
    repo_copy.append("pyproject.toml", BROKEN_TOML)
    ran = repo_copy.nox("-s", session)
    ran.failed_with("pyproject.toml is not valid TOML", "fix it and run again")
    assert "Traceback" not in ran.output, ran
    said = [line for line in ran.output.splitlines() if "pyproject.toml" in line]
    assert len(said) == 1, ran
    assert said[0].startswith(f"nox > Session {session} aborted: "), ran


PROBE_SESSION = """

@nox.session(python=False)
@_session
def probe(session: nox.Session) -> None:
    names = ["UV_COMPILE_BYTECODE", "UV_PYTHON_DOWNLOADS"]
    session.run("python", "-c", f"import os; print('uv', *map(os.environ.get, {names}))")
"""


def test_uv_defaults_are_in_each_session_unless_the_environment_sets_them(
    repo_copy: Copy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UV_PYTHON_DOWNLOADS", raising=False)
    repo_copy.append("noxfile.py", PROBE_SESSION)
    ran = repo_copy.nox("-s", "probe", env={"UV_COMPILE_BYTECODE": None})
    ran.passed()
    assert "uv 1 never" in ran.output.splitlines(), ran  # UV_COMPILE_BYTECODE, ..._DOWNLOADS
    ran = repo_copy.nox("-s", "probe", env={"UV_COMPILE_BYTECODE": "false"})
    ran.passed()
    assert "uv false never" in ran.output.splitlines(), ran
