"""The docs are made or checked from the code: the task reference from the tasks' own help,
README's command table from the tasks' flags, and every citation of the release process
resolves inside this repository."""

from __future__ import annotations

import importlib.util
import re
import subprocess

from tests.conftest import REPO


def _task_reference() -> str:
    spec = importlib.util.spec_from_file_location(
        "task_reference", REPO / "scripts" / "task_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text: str = module.reference()
    return text


def test_the_task_reference_is_the_tasks_own_help() -> None:
    doc = (REPO / "docs" / "RELEASING.md").read_text()
    assert _task_reference() in doc, "run: python scripts/task_reference.py --write"


def _flags(task: str) -> set[str]:
    proc = subprocess.run(["inv", "--help", task], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return set(re.findall(r"--[a-z][\w-]*", proc.stdout.split("Options:", 1)[1]))


def test_every_command_in_readmes_table_is_a_task_with_those_flags() -> None:
    table = re.findall(r"^\| `(inv [^|]*)` \|", (REPO / "README.md").read_text(), re.M)
    listed = subprocess.run(["inv", "--list"], cwd=REPO, capture_output=True, text=True).stdout
    tasks = set(re.findall(r"^  (\S+)", listed, re.M))
    named = set()
    for cell in table:
        for command in re.findall(r"inv ([\w.]+)([^`]*)", cell):
            task, rest = command
            assert task in tasks, f"README names `inv {task}`, which is not a task"
            named.add(task)
            unknown = set(re.findall(r"--[a-z][\w-]*", rest)) - _flags(task)
            assert not unknown, f"README gives `inv {task}` flags it does not have: {unknown}"
    assert named == tasks, f"README's table leaves out {tasks - named}"


def test_every_citation_of_the_release_process_resolves_in_the_repository() -> None:
    """The process itself lives outside the repository; docs/RELEASING.md retells it, and
    every file points there, never at a file the repository does not hold."""
    pathspec = ["--", ".", ":!tests/engine/test_doc_sources.py"]
    cited = subprocess.run(
        ["git", "grep", "-l", "-I", "RELEASE_PROCESS", *pathspec],
        cwd=REPO, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    assert cited == [], f"these cite RELEASE_PROCESS.md, which is not here: {cited}"
    for path in ("README.md", "CONTRIBUTING.md", "docs/RELEASING.md"):
        text = (REPO / path).read_text()
        for target in re.findall(r"\]\((?!https?:|#|mailto:)([^)#]+)", text):
            assert (REPO / path).parent.joinpath(target).exists(), f"{path} links to {target}"
