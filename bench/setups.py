"""The throwaway repositories bench/run.py times commands in, and how `inv` meets the stand-ins.

Every repository is a clone of this repository's HEAD (through the rehearsal's own
clone_for_rehearsal, so each has a bare remote as origin); the peers' clones get the minimal
configuration each peer needs, and one gets a generated history of 10,000 commits.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import needs_standins  # noqa: E402, F401  # the stand-ins' libraries, or one line

from release_engine.cadence import next_version  # noqa: E402
from release_engine.config import load_config  # noqa: E402
from release_engine.rehearsal import StandIns, clone_for_rehearsal  # noqa: E402
from release_engine.remotes.github.remote import seed_green  # noqa: E402
from release_engine.remotes.registry.container import BASE_IMAGE  # noqa: E402
from release_engine.version import parse_current_version  # noqa: E402

__all__ = [
    "INV",
    "VERSION",
    "WAITING",
    "generate_history",
    "inv_env",
    "peer_repo",
    "plain_repo",
    "seed_github",
    "tag_baseline",
]

INV = str(Path(sys.executable).parent / "inv")  # the interpreter's own, not a pyenv shim
#: What every clone's main is: this checkout's HEAD (a clone gets the branch main otherwise).
HEAD = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                      check=True).stdout.strip()  # fmt: skip
CONFIG = load_config(ROOT)
CURRENT = parse_current_version(CONFIG.current_version)
#: What every row releases: the minor after the project's version, whatever it is now.
VERSION = next_version(CURRENT, "minor").pep440
#: Whether a fragment waits in HEAD's changelog.d/ (none right after the project's release).
WAITING = any(
    not name.endswith(("/README.md", "/template.md"))
    for name in subprocess.run(
        ["git", "ls-tree", "--name-only", "HEAD", "changelog.d/"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()
)  # fmt: skip


def git(repo: Path, *args: str, **kw: object) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
        **kw,  # type: ignore[call-overload]
    ).stdout.strip()


def plain_repo(workdir: Path) -> Path:
    """A clone of this repository (and its bare remote), as a rehearsal makes it, with a
    changelog fragment waiting on main (one is added and pushed right after a release)."""
    workdir.mkdir(parents=True, exist_ok=True)
    repo = clone_for_rehearsal(ROOT, workdir)
    if git(repo, "rev-parse", "HEAD") != HEAD:  # main elsewhere (a worktree on a branch)
        git(repo, "reset", "--quiet", "--hard", HEAD)
        git(repo, "push", "--quiet", "--force", "origin", "main")
    if not WAITING:
        (repo / "changelog.d" / "+bench.added.md").write_text("Added what the bench releases.\n")
        git(repo, "add", "changelog.d")
        git(repo, "commit", "--quiet", "-m", "A change to release")
        git(repo, "push", "--quiet", "origin", "main")
    tag_baseline(repo)
    return repo


def tag_baseline(repo: Path) -> None:
    """The release the semver guard compares HEAD with: an annotated ``v<current version>``
    on the parent of the last commit that changed the payload's source (``src/``), pushed,
    so the guard exports two trees whose code differs. Nothing is tagged when that tag is
    there already (a clone made after the project's release of it), nor when the version
    files carry a pre-release or ``.devN`` (the project released before: its tags are there)."""
    tag = CURRENT.tag(CONFIG.tag_prefix)
    if CURRENT.is_prerelease or git(repo, "tag", "--list", tag):
        return
    changed = git(repo, "rev-list", "-1", "HEAD", "--", "src")
    git(repo, "tag", "-a", tag, "-m", f"Release version {CURRENT.pep440}", f"{changed}^")
    git(repo, "push", "--quiet", "origin", f"refs/tags/{tag}")


def inv_env(s: StandIns, cache: Path) -> tuple[dict[str, str], list[str]]:
    """Environment and ``--set`` flags pointing ``inv release`` at every stand-in, the registry
    included (tests/engine/conftest.py standin_settings, plus the image and the registry), and
    ``XDG_CACHE_HOME`` at *cache* (the semver evidence's cache: the user's is left alone)."""
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(cache),
        "GITHUB_TOKEN": s.github.token,
        "TWINE_USERNAME": s.index.username,
        "TWINE_PASSWORD": s.index.password,
        "RELEASE_NOTIFY_WEBHOOKS": s.slack.url,
    }
    flags = [
        "--set", "remote=origin",
        "--set", f"index_url={s.index.upload_url}",
        "--set", f"index_simple_url={s.index.simple_url}",
        "--set", f"github_repository={s.github.repository}",
        "--set", f"github_api_url={s.github.url}",
    ]  # fmt: skip
    if s.registry is not None:
        env |= {"REGISTRY_USERNAME": s.registry.username, "REGISTRY_PASSWORD": s.registry.password}
        flags += [
            "--set", f"image={s.registry.url}/market-data-ingestion",
            "--set", "registry_tls_verify=false",
            "--set", f"base_image={BASE_IMAGE}",
        ]  # fmt: skip
    else:
        flags += ["--set", "image="]
    return env, flags


def seed_github(s: StandIns, repo: Path) -> None:
    """What GitHub says of *repo*'s HEAD in a rehearsal: green CI, an approved pull request,
    so the preflight asks for real instead of being waived."""
    seed_green(s.github, repo)


PSR_CONFIG = """
[tool.semantic_release]
version_toml = ["pyproject.toml:project.version"]
tag_format = "v{version}"
commit_parser = "conventional"
"""
CZ_CONFIG = """
[tool.commitizen]
name = "cz_conventional_commits"
version_provider = "pep621"
tag_format = "v$version"
"""


def peer_repo(name: str, workdir: Path) -> Path:
    """A clone configured for the peer *name*, with one conventional commit to release.

    bump-my-version and towncrier read this repository's own [tool.bumpversion] and
    [tool.towncrier]; semantic-release and commitizen get the few lines they need.
    """
    repo = plain_repo(workdir)
    extra = {"semantic-release": PSR_CONFIG, "cz": CZ_CONFIG}.get(name)
    if extra:
        pyproject = repo / "pyproject.toml"
        pyproject.write_text(pyproject.read_text() + extra)
        git(repo, "commit", "--quiet", "-am", f"feat: configure {name}")
    if name == "semantic-release":  # it parses origin as a GitHub URL (and reads nothing there)
        git(repo, "remote", "set-url", "origin", "https://github.com/rehearsal/release.git")
    return repo


def generate_history(
    workdir: Path, commits: int = 10_000, tags: int = 999, fragments: int = 500
) -> Path:
    """A clone of this repository with *commits* more commits on main, *tags* annotated
    ``v0.0.N`` release tags among them and *fragments* more changelog fragments, made with
    ``git fast-import`` into the bare remote (its refs then packed), then cloned; with the
    baseline tag (:func:`tag_baseline`) that makes *tags* + 1 in all. The commits do not depend on
    *tags*: two histories that differ in their tags hold the same trees."""
    workdir.mkdir(parents=True, exist_ok=True)
    remote, work = workdir / "remote.git", workdir / "work"
    subprocess.run(["git", "clone", "--quiet", "--bare", "--no-local", str(ROOT), str(remote)],
                   check=True)  # fmt: skip
    head = HEAD
    start = int(git(remote, "log", "-1", "--format=%ct", head)) - commits * 60 - 86400
    every = max(1, commits // tags)
    out: list[bytes] = []
    ident = b"Bench <bench@localhost>"
    for i in range(1, commits + 1):
        when = start + i * 60
        msg = f"history {i}\n".encode()
        body = f"line {i}\n".encode()
        out += [b"commit refs/heads/main\n", f"mark :{i}\n".encode(),
                ident.join([b"author ", f" {when} +0000\n".encode()]),
                ident.join([b"committer ", f" {when} +0000\n".encode()]),
                f"data {len(msg)}\n".encode(), msg]  # fmt: skip
        out.append(f"from {head}\n".encode() if i == 1 else b"")
        out += [f"M 100644 inline docs/bench-history/{i % 100}.txt\n".encode(),
                f"data {len(body)}\n".encode(), body]  # fmt: skip
        if i == commits:  # the fragments land with the last commit
            for n in range(fragments):
                text = f"Added generated change number {n}.\n".encode()
                out += [f"M 100644 inline changelog.d/+bench-{n}.added.md\n".encode(),
                        f"data {len(text)}\n".encode(), text]  # fmt: skip
        out.append(b"\n")
        if i % every == 0 and i // every <= tags:
            t = i // every
            tmsg = f"Release version 0.0.{t}\n".encode()
            out += [f"tag v0.0.{t}\n".encode(), f"from :{i}\n".encode(),
                    ident.join([b"tagger ", f" {when} +0000\n".encode()]),
                    f"data {len(tmsg)}\n".encode(), tmsg, b"\n"]  # fmt: skip
    fast_import = ["git", "fast-import", "--quiet", "--force"]  # main moves to HEAD's history
    subprocess.run(fast_import, cwd=remote, input=b"".join(out), check=True)
    # fast-import leaves a thousand loose refs; a repository that grew them over years holds
    # them packed (git gc, and every host), as the plain clone's remote does: asking for them
    # then takes 11 ms, not 28.
    subprocess.run(["git", "pack-refs", "--all"], cwd=remote, check=True)
    subprocess.run(["git", "clone", "--quiet", "--branch", "main", str(remote), str(work)],
                   check=True)  # fmt: skip
    git(work, "config", "user.email", "release-rehearsal@localhost")
    git(work, "config", "user.name", "Release Rehearsal")
    tag_baseline(work)
    counts = (git(work, "rev-list", "--count", "HEAD"), len(git(work, "tag").split()),
              len(list((work / "changelog.d").glob("*.md"))))  # fmt: skip
    print("  generated: {} commits, {} tags, {} changelog.d files".format(*counts), file=sys.stderr)
    return work
