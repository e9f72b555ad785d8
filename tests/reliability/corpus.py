"""Bad input: malformed versions and flags, and repository and remote states a release refuses.

Each entry runs the real command in a clone of its own and expects an exit code: 2 for bad
input (whitespace around a version, non-ASCII digits, shell metacharacters, leading zeros,
huge numbers, a bad ``--set``), 3 for a refusal before any change (a hand-made tag, an empty
repository, wrong credentials, unreachable remotes). The clone, the remote and every server are
snapshotted before and after: a refused command that changed any of them has a side effect.
Refusals said "in one line" must be exactly one line on stderr.
"""

from __future__ import annotations

__all__ = ["CORPUS", "Entry", "corpus"]

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from release_engine.config import load_config
from release_engine.version import parse_current_version
from tests.conftest import REPO, moved_up

from .report import Case
from .state import lock_left, snapshot
from .world import World, git

Setup = Callable[[World, Path], None]

VERSIONS = [
    " 1.2.3", "1.2.3 ", "\t1.2.3", "1.2.3\n", " ", "", "1.2.1٣", "1٢.0.0", "\uff11.2.3", "1.2.³",
    "1.\uff12.3", "१.2.3", "1.2.3\u200b", "\u200b1.2.3", "1.2.3;id", "$(id)", "`id`", "1.2.3|cat",
    "1.2.3&&true", "1.2.3'", '1.2.3"', "1.2.3>x", "*", "1.2.3$HOME", "../1.2.3", "01.2.3",
    "1.02.3", "1.2.03", "00.1.0", "9" * 30 + ".0.0", "1." + "9" * 30 + ".0", "1.2." + "9" * 400,
    "1.2", "1", "1.2.3.4", "v1.2.3", "V1.2.3", "1.2.3+local", "1..3", "1.2.", "latest",
    "1.2.3.post1", "1.2.3.dev0", "1,2,3", "1.2.3 1.2.4",
]  # fmt: skip
BAD_SETS = ["nonsense", "unknown_key=1", "registry_tls_verify=maybe", "smtp_port=abc",
            "merge=yolo", "next_cycle=weekly", "github_api_url=api.github.com",
            "github_repository=nope", "tag_prefx=v", "required_channels=slack",
            "deploy_manifests=../outside.yaml", "main_branch=mian"]  # fmt: skip


@dataclass
class Entry:
    """One bad input: the arguments after ``inv``, what to do to the clone first, the exit
    code expected, and whether the refusal must be one line."""

    name: str
    argv: Callable[[World], list[str]]
    code: int
    one_line: bool = False
    setup: Setup | None = None
    env: Callable[[World], dict[str, str]] = field(default=lambda w: {})
    remote: bool = False  # touches the remote or the servers: run alone, snapshot exactly


def _release(version: str, *more: str, image: bool = False) -> Callable[[World], list[str]]:
    """``inv release``; *more* after the world's flags: a later ``--set`` wins."""
    return lambda w: ["release", "--version", version, "--skip-prerelease",
                      *w.flags(image=image), *more]  # fmt: skip


def _gated(version: str, *more: str) -> Callable[[World], list[str]]:
    """``inv release`` asking every gate, the prerelease one too."""
    return lambda w: ["release", "--version", version, *w.flags(image=False), *more]


def _rollback(version: str) -> Callable[[World], list[str]]:
    return lambda w: ["rollback", "--version", version, *w.flags(image=False)]


def _dirty(w: World, clone: Path) -> None:
    (clone / "README.md").write_text("changed by hand\n")


def _sh(*argv: str) -> Setup:
    return lambda w, clone: (git(clone, *argv), None)[1]


def _empty_repo(w: World, clone: Path) -> None:
    """The project's files in a repository with no commit at all."""
    for item in clone.iterdir():
        if item.name == ".git":
            import shutil

            shutil.rmtree(item)
    git(clone, "init", "-q", "-b", "main")


def _up(version: str) -> str:
    """*version*, written for a project at 0.1.0, moved up to the project's own version."""
    return moved_up(version, parse_current_version(load_config(REPO).current_version))


def _tag_elsewhere(w: World, clone: Path) -> None:
    """The release's tag already on the remote, at a commit that is not the release's."""
    git(clone, "commit", "-q", "--allow-empty", "-m", "not the release")
    tag = "v" + _up("0.8.0")
    git(clone, "tag", "-a", tag, "-m", "by hand")
    git(clone, "push", "-q", "origin", tag)
    git(clone, "reset", "-q", "--hard", "origin/main")


def _versions() -> list[Entry]:
    found = []
    for v in VERSIONS:
        found.append(Entry(f"release --version {v!r}", _release(v), 2, one_line=True))
        found.append(Entry(f"rollback --version {v!r}", _rollback(v), 2))
    for bad in BAD_SETS:
        found.append(Entry(f"--set {bad}", _release("9.9.0", "--set", bad), 2, one_line=True))
    found.append(Entry("no --version", lambda w: ["release", *w.flags()], 2))
    return found


def _states() -> list[Entry]:
    wrong = "x" + "0" * 20
    up = _up
    e = Entry
    return [
        e("repository with no commits", _release(up("0.2.0")), 3, True, _empty_repo, remote=True),
        e("hand-made local tag of the release", _release(up("0.2.0")), 3, True,
          _sh("tag", "v" + up("0.2.0")), remote=True),
        e("hand-made annotated local tag", _release(up("0.2.0")), 3, True,
          _sh("tag", "-a", "v" + up("0.2.0"), "-m", "mine"), remote=True),
        e("tag on the remote at another commit", _release(up("0.8.0")), 3, True, _tag_elsewhere,
          remote=True),
        e("dirty work tree", _release(up("0.2.0")), 3, remote=True,
          setup=_dirty),
        e("not on main", _release(up("0.2.0")), 3, remote=True,
          setup=_sh("checkout", "-q", "-b", "feature")),
        e("detached HEAD", _release(up("0.2.0")), 3, remote=True,
          setup=_sh("checkout", "-q", "--detach")),
        e("local main ahead of origin", _release(up("0.2.0")), 3,
          setup=_sh("commit", "-q", "--allow-empty", "-m", "local"), remote=True),
        e("older than the current version", _release("0.0.1"), 3, remote=True),
        e("rollback of a version never released", _rollback(up("0.2.0")), 3, remote=True),
        e("wrong index password", _release(up("0.3.0")), 3, True, remote=True,
          env=lambda w: {"TWINE_PASSWORD": wrong}),
        e("GitHub token 401", _release(up("0.4.0")), 3, True, env=lambda w: {"GITHUB_TOKEN": wrong},
          remote=True),
        e("no GitHub token", _release(up("0.4.0")), 3, True, env=lambda w: {"GITHUB_TOKEN": ""},
          remote=True),
        e("unreachable index", _release(up("0.5.0"), "--set", "index_url=http://127.0.0.1:9/",
                                        "--set", "index_simple_url=http://127.0.0.1:9/simple/"),
          3, True, remote=True),
        e("unreachable GitHub", _release(up("0.6.0"), "--set", "github_api_url=http://127.0.0.1:9"),
          3, True, remote=True),
        e("unreachable webhook", _release(up("0.7.0")), 3, True, remote=True,
          env=lambda w: {"RELEASE_NOTIFY_WEBHOOKS": "http://127.0.0.1:9/hooks/x"}),
        e("webhook URL unknown (404)", _release(up("0.7.1")), 3, True, remote=True,
          env=lambda w: {"RELEASE_NOTIFY_WEBHOOKS": w.s.slack.url + "x"}),
        e("wrong registry password", _release(up("0.7.2"), image=True), 3, True, remote=True,
          env=lambda w: {"REGISTRY_PASSWORD": wrong}),
        e("unreachable registry", _release(up("0.7.3"), "--set", "image=127.0.0.1:9/ns/mdi",
          "--set", "deploy_manifests="), 3, True, remote=True),  # the manifests name another
        e("unreachable git remote", _release(up("0.7.4")), 3, True, remote=True,
          setup=_sh("remote", "set-url", "origin", "/nonexistent/remote.git")),
        e("wrong SMTP password", _release(up("0.7.5")), 3, True, remote=True,
          env=lambda w: {"SMTP_PASSWORD": wrong}),
        e("required check missing on the commit", _release(up("0.7.6"), "--set",
          "required_checks=tests"), 3, True, remote=True),
        e("CI matrix check missing (prerelease)", _gated(up("0.7.7"), "--set",
          "prerelease_check=nox-matrix"), 3, True, remote=True),
    ]  # fmt: skip


def _edit_pyproject(old: str, new: str) -> Setup:
    """pyproject.toml with *old* replaced by *new*, committed in the clone alone."""

    def edit(w: World, clone: Path) -> None:
        path = clone / "pyproject.toml"
        path.write_text(path.read_text().replace(old, new, 1))
        git(clone, "commit", "-qam", f"{old.strip()} -> {new.strip()}")

    return edit


def _same_version_on_index(w: World, clone: Path) -> None:
    """Another sdist of the version, on the index before the release (made by anyone else)."""
    name = f"market_data_ingestion-{_up('0.7.9')}.tar.gz"
    (w.s.index.packages / name).write_bytes(b"other bytes")


def _news_undocumented(w: World, clone: Path) -> None:
    """A release of the current version (tagged here), then news on main and no docs change."""
    current = load_config(clone).current_version
    git(clone, "tag", "-a", f"v{current}", "-m", f"Release version {current}")
    (clone / "changelog.d" / "+corpus-news.added.md").write_text("Added a corpus feature.\n")
    git(clone, "add", "--all")
    git(clone, "commit", "-qm", "News, documented nowhere")
    git(clone, "push", "-q", "origin", "main")
    w.seed_green(git(clone, "rev-parse", "HEAD"))


def _refusals_of_issue_19() -> list[Entry]:
    """Configuration that is malformed (2), and what would otherwise fail after publishing (3)."""
    up, e = _up, Entry
    return [
        e("misspelt table [tool.relase]", _release(up("0.2.0")), 2, True,
          _edit_pyproject("[tool.release]", "[tool.relase]")),
        e("tag_prefix = 1", _release(up("0.2.0")), 2, True,
          _edit_pyproject('tag_prefix = "v"', "tag_prefix = 1")),
        e("[tool.towncrier] without directory and filename", _release(up("0.2.0")), 2, True,
          _edit_pyproject('directory = "changelog.d"\nfilename = "CHANGELOG.md"', "")),
        e("deploy manifest path with a typo", _release(up("0.7.6"), "--set",
          "deploy_manifests=deploy/k8s/deploymnet.yaml"), 3, True, remote=True),
        e("required notify channel unset", _release(up("0.7.6")), 3, True, remote=True,
          env=lambda w: {"RELEASE_NOTIFY_WEBHOOKS": ""}),
        e("other sdist of the version on the index", _release(up("0.7.9")), 3, True,
          _same_version_on_index, remote=True),
        e("closed index_simple_url", _release(up("0.7.7"), "--set",
          "index_simple_url=http://127.0.0.1:9/simple/"), 3, True, remote=True),
        e("news without a documentation change", _release(up("0.7.8")), 3, True,
          _news_undocumented, remote=True),
    ]  # fmt: skip


CORPUS = _versions() + _states() + _refusals_of_issue_19()


def _one(
    world: World, entry: Entry, n: int, *, own: bool = False
) -> tuple[Entry, dict[str, object]]:
    """Run *entry* in a clone of its own; with *own*, only that clone is judged (the remote and
    the servers are shared with entries running beside it)."""
    clone = world.clone(f"corpus{n}")
    if entry.setup is not None:
        entry.setup(world, clone)
    before = snapshot(world, clone, image=entry.remote)
    run = world.run(clone, entry.argv(world), env=world.env(**entry.env(world)), timeout=150)
    after = snapshot(world, clone, image=entry.remote)
    changed = sorted(k for k in before if before[k] != after.get(k))
    if own and run.code in (2, 3):
        changed = [k for k in changed if k.startswith("clone_")]
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    return entry, {"code": run.code, "lines": len(lines), "length": len(run.stderr.strip()),
                   "changed": changed, "seconds": run.seconds, "last": run.last_line()}  # fmt: skip


def corpus(world: World, report: Path) -> Case:
    """Every entry of :data:`CORPUS`; the per-entry details written to *report*."""
    case = Case(f"bad-input corpus ({len(CORPUS)} entries)", len(CORPUS))
    began = time.monotonic()
    # The entries that reach the remote and the servers first, one at a time, each snapshot
    # exact; then the others side by side, which a release gone ahead cannot spoil for them.
    alone = [e for e in CORPUS if e.remote]
    results = [_one(world, e, n) for n, e in enumerate(alone)]
    shared = snapshot(world, None, image=True)
    local = [e for e in CORPUS if not e.remote]
    with ThreadPoolExecutor(max_workers=3) as pool:
        side = list(pool.map(lambda p: _one(world, p[1], len(alone) + p[0], own=True),
                             enumerate(local)))  # fmt: skip
    results += side
    if snapshot(world, None, image=True) != shared and all(r["code"] in (2, 3) for _, r in side):
        case.side_effects += 1
        case.fail("the remote or a server changed while only refused commands ran")
    rows = []
    for entry, r in results:
        why = []
        if r["code"] != entry.code:
            why.append(f"exit {r['code']}, want {entry.code}")
        if entry.one_line and r["lines"] != 1:
            why.append(f"{r['lines']} lines, want one")
        if r["changed"] and r["code"] in (2, 3):
            case.side_effects += 1
            why.append(f"changed {', '.join(r['changed'])}")  # type: ignore[arg-type]
        elif r["changed"]:
            why.append(f"went ahead: changed {', '.join(r['changed'])}")  # type: ignore[arg-type]
        if why:
            case.fail(f"{entry.name}: {'; '.join(why)}: {str(r['last'])[:120]}")
        rows.append(f"{entry.name!r:60.60} exit {r['code']} (want {entry.code}) "
                    f"{r['lines']} line(s) {r['length']} chars {r['seconds']:.1f}s "
                    f"changed={r['changed']}")  # fmt: skip
    case.problems += lock_left(world.remote)  # a refused command takes no lock, leaves none
    rows.append(f"corpus wall time {time.monotonic() - began:.0f} s")
    report.write_text("\n".join(rows) + "\n")
    return case
