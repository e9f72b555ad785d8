"""The documentation's runnable blocks run, as written, against the rehearsal stand-ins.

A fenced block is runnable when the line before it is ``<!-- runnable -->``. The runnable
blocks of one file run in order, each in its own ``bash`` (``set -euo pipefail``), in one
throwaway clone of the repository (its ``origin`` a local bare remote) whose ``[tool.release]``
points at the stand-ins: a package index, a GitHub API, a container registry (when a
container engine exists) and a webhook sink. The environment holds their credentials, as an
operator's would: ``GITHUB_TOKEN``, ``TWINE_USERNAME``/``TWINE_PASSWORD``,
``REGISTRY_USERNAME``/``REGISTRY_PASSWORD`` and ``RELEASE_NOTIFY_WEBHOOKS``. GitHub knows the
clone's first commit as green in CI and merged through an approved pull request.

The walk-through in docs/RELEASING.md starts from 0.1.0 (it releases 0.2.0, 0.3.0, the hotfix
0.2.1 and rolls 0.3.0 back). Run on a project that has released since, each of its versions is
moved up by the project's own: from 1.4.2, 0.2.0 is run as 1.5.0, 0.3.0 as 1.6.0 and 0.2.1 as
1.5.1 (and the clone has a fragment waiting: see ``tests.conftest.make_repo``).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from release_engine.config import load_config
from release_engine.rehearsal import StandIns, clone_for_rehearsal, stand_ins
from release_engine.remotes.github.remote import seed_green
from release_engine.version import parse_current_version
from tests.conftest import NOT_FRAGMENTS, REPO, git, make_repo, moved_up, with_a_fragment
from tests.engine.conftest import remove_images

DOCS = ("README.md", "CONTRIBUTING.md", "docs/RELEASING.md")
# The documents whose blocks publish an image; the others get no registry (none to clean up).
PUBLISHES_IMAGES = {"docs/RELEASING.md"}
MARKER = "<!-- runnable -->"
FENCE = re.compile(r"^(?P<fence>```+|~~~+)[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S)
CREDENTIALS = (
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "TWINE_USERNAME",
    "TWINE_PASSWORD",
    "REGISTRY_USERNAME",
    "REGISTRY_PASSWORD",
    "RELEASE_NOTIFY_WEBHOOKS",
)


def runnable_blocks(text: str) -> list[str]:
    """The body of every fenced block whose previous non-blank line is the marker."""
    blocks = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip().rsplit("\n", 1)[-1].strip()
        if before == MARKER:
            blocks.append(match.group("body"))
    return blocks


def test_runnable_blocks_are_found() -> None:
    text = (
        f"a\n\n{MARKER}\n```bash\necho one\n```\n\n```bash\necho two\n```\n{MARKER}\n~~~\nx\n~~~\n"
    )
    assert runnable_blocks(text) == ["echo one\n", "x\n"]


@pytest.mark.parametrize("name", DOCS)
def test_every_document_has_runnable_blocks(name: str) -> None:
    text = (REPO / name).read_text()
    assert runnable_blocks(text), f"{name} has no block marked {MARKER}"
    markers = re.findall(rf"^{re.escape(MARKER)}[ \t]*$", text, re.M)
    assert len(markers) == len(runnable_blocks(text)), f"{name}: a marker without a block"


@pytest.mark.parametrize(
    ("current", "block", "expected"),
    [
        ("0.1.0", "inv release --version 0.2.0 && inv hotfix --from v0.2.0", None),
        (
            "1.4.2",
            "inv release --version 0.2.0\ninv hotfix --from v0.2.0\ngit push origin hotfix/v0.2.1",
            "inv release --version 1.5.0\ninv hotfix --from v1.5.0\ngit push origin hotfix/v1.5.1",
        ),
        (
            "0.2.1.dev0",  # next_cycle = "dev" after 0.2.0
            "inv rollback --version 0.3.0 # rollback-v0.3.0",
            "inv rollback --version 0.4.0 # rollback-v0.4.0",
        ),
        ("2.0.0", "inv release --version 1.2 || echo 10.2.0 python3.11", None),  # not versions
    ],
)
def test_versions_written_for_0_1_0_move_up_with_the_project(
    current: str, block: str, expected: str | None
) -> None:
    assert moved_up(block, parse_current_version(current)) == (expected or block)


def point_at_standins(work: Path, s: StandIns) -> None:
    """Set the clone's ``[tool.release]`` to the stand-ins and commit it, as main's tip."""
    path = work / "pyproject.toml"
    text = path.read_text()
    head, sep, rest = text.partition("[tool.release]\n")
    table, nxt, tail = rest.partition("\n[")
    config = load_config(work)
    name = config.image.rsplit("/", 1)[-1] if config.image else config.package
    settings = {
        "github_repository": s.github.repository,
        "github_api_url": s.github.url,
        "index_url": s.index.upload_url,
        "index_simple_url": s.index.simple_url,
        "image": f"{s.registry.url}/{name}" if s.registry else "",
        "registry_tls_verify": False,
        "base_image": config.rehearsal_base_image,
    }
    if s.mail is not None:  # the project requires the email channel: pointed at its stand-in
        settings |= {
            "smtp_host": "127.0.0.1",
            "smtp_port": s.mail.port,
            "smtp_starttls": False,
            "email_from": "release@localhost",
            "email_to": ["people@localhost"],
        }
    for key, value in settings.items():
        line = f"{key} = {'false' if value is False else repr(value).replace(chr(39), chr(34))}"
        table, found = re.subn(rf"^{key} = .*$", line, table, flags=re.M)
        if not found:
            table = table.rstrip("\n") + "\n" + line + "\n"
    path.write_text(head + sep + table + nxt + tail)
    git(work, "commit", "--quiet", "--all", "--message", "Point [tool.release] at the stand-ins")
    git(work, "push", "--quiet", "origin", "main")
    seed_green(s.github, work)


def standin_env(s: StandIns) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIALS}
    env.update(
        GITHUB_TOKEN=s.github.token,
        TWINE_USERNAME=s.index.username,
        TWINE_PASSWORD=s.index.password,
        RELEASE_NOTIFY_WEBHOOKS=s.slack.url,
    )
    if s.mail is not None:
        env.update(SMTP_USERNAME=s.mail.username, SMTP_PASSWORD=s.mail.password)
    if s.registry is not None:
        env.update(REGISTRY_USERNAME=s.registry.username, REGISTRY_PASSWORD=s.registry.password)
    return env


@pytest.fixture
def clone(
    source_repo: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Path, dict[str, str], StandIns]]:
    """The stand-ins and a clone pointed at them, for the document the test is run for."""
    name = request.node.callspec.params["name"]
    with stand_ins(
        tmp_path / "standins", without=set() if name in PUBLISHES_IMAGES else {"registry"}
    ) as s:
        work = clone_for_rehearsal(source_repo, tmp_path)
        point_at_standins(work, s)
        try:
            yield work, standin_env(s), s
        finally:
            if s.registry is not None:
                remove_images(s.registry)


@pytest.mark.e2e
@pytest.mark.parametrize("name", DOCS)
def test_runnable_blocks_run(
    name: str, clone: tuple[Path, dict[str, str], StandIns], clean_env: None
) -> None:
    work, env, _ = clone
    current = parse_current_version(load_config(work).current_version)
    for number, written in enumerate(runnable_blocks((REPO / name).read_text()), 1):
        block = moved_up(written, current)
        started = time.monotonic()
        proc = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + block],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, (
            f"{name}, runnable block {number} exited {proc.returncode}:\n{block}\n"
            f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"
        )
        output = proc.stdout + proc.stderr
        for secret in (env["GITHUB_TOKEN"], env["TWINE_PASSWORD"], env["RELEASE_NOTIFY_WEBHOOKS"]):
            assert secret not in output, f"{name}, block {number} printed a secret"
        print(f"{name}, runnable block {number}: {time.monotonic() - started:.1f}s")
    if name == "docs/RELEASING.md":  # the walk-through left its releases on the remote
        tags = set(git(work, "ls-remote", "--tags", "--refs", "origin").split())
        expected = moved_up("v0.2.0 v0.3.0 v0.2.1 rollback-v0.3.0", current).split()
        assert {f"refs/tags/{tag}" for tag in expected} <= tags


def test_a_released_tree_is_copied_with_a_fragment_waiting(tmp_path: Path) -> None:
    released = tmp_path / "released"
    (released / "changelog.d").mkdir(parents=True)
    for name in NOT_FRAGMENTS:
        (released / "changelog.d" / name).write_text("not a fragment\n")
    with_a_fragment(released)
    added = sorted(p.name for p in (released / "changelog.d").iterdir())
    assert added == sorted([*NOT_FRAGMENTS, "+tests.added.md"])
    with_a_fragment(released)  # one waits now: nothing more
    assert sorted(p.name for p in (released / "changelog.d").iterdir()) == added
    repo = make_repo(tmp_path / "copy", REPO)  # this repository as it is: what waits, kept
    waiting = {p.name for p in (REPO / "changelog.d").iterdir()} - set(NOT_FRAGMENTS)
    copied = {p.name for p in (repo / "changelog.d").iterdir()} - set(NOT_FRAGMENTS)
    assert copied == (waiting or {"+tests.added.md"})
