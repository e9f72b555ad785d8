"""What changed between a release and a commit, as evidence: each source in a module of its own.

The sources (:mod:`.api`, :mod:`.cli`, :mod:`.http`, :mod:`.migrations`, :mod:`.fragments`)
each read two exported trees (``git archive`` of the previous release's tag and of the commit
being released, never the work tree) and say what breaks and what is new; :func:`gather` runs
them side by side. The answer depends only on the two trees' content, the guard's own code and
griffe's version: it is remembered in the user's cache directory
(``$XDG_CACHE_HOME/release-engine/semver``, else ``~/.cache/…``) under a key made of those, so
a second dry run or status of the same commit reads a file. A source that could not be read is
never remembered: it is asked again next time. When the payload's source directory is the same
in both (git's id of that directory is its content), only the fragments are read: the code
cannot differ. The payload's answers to the CLI and HTTP questions are remembered by that id.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Literal

from ..config import tomllib
from ..errors import ReleaseError
from ..proc import in_background
from ..tools import usercache
from ..tools.git import Git, extract_archive

__all__ = ["PARSING", "Evidence", "Finding", "Payload", "Source", "SourceUnread", "gather"]

Kind = Literal["break", "feature"]

#: Held while Python source is parsed (griffe, the migrations' AST). The sources run in
#: threads, and CPython before 3.12.5 keeps the AST constructor's recursion depth in state all
#: threads share: two parses at once can fail ("AST constructor recursion depth mismatch").
PARSING = threading.Lock()


class SourceUnread(ReleaseError):
    """A source could not read one of the two trees (an import failed, a file did not parse):
    its evidence is missing, which the guard reports rather than taking as "no change"."""


@dataclass(frozen=True)
class Finding:
    """One change seen by a *source*: a *kind* (break or feature), *what* changed, *where*."""

    source: str
    kind: Kind
    what: str
    where: str

    def line(self) -> str:
        return f"{self.source}: {self.what} ({self.where})"


@dataclass(frozen=True)
class Payload:
    """Where the payload lives in a tree: the import package, its source directory, the
    module of its console script (whose ``build_parser()`` the CLI source calls), its HTTP app
    module (``<package>.api``, FastAPI's ``app``) and its Alembic revisions directory."""

    src: str
    package: str
    cli_module: str | None
    fragments_dir: str = "changelog.d"

    def file_of(self, module: str) -> str:
        """Where *module* of the payload lives in the tree (``src/pkg/cli.py``)."""
        return "/".join(filter(None, [self.src, module.replace(".", "/")])) + ".py"

    @property
    def http_module(self) -> str:
        return f"{self.package}.api"

    @property
    def migrations_dir(self) -> str:
        return f"{self.src}/{self.package}/migrations/versions".lstrip("/")

    @classmethod
    def of(cls, tree: Path) -> Payload:
        """Read from *tree*'s pyproject.toml: hatch's wheel ``packages`` (else ``[project]
        name``, under ``src/``) and ``[project.scripts]``."""
        data = tomllib.loads((tree / "pyproject.toml").read_text(encoding="utf-8"))
        wheel = data.get("tool", {}).get("hatch", {}).get("build", {}).get("targets", {})
        packages = wheel.get("wheel", {}).get("packages") or []
        if packages:
            src, _, package = str(packages[0]).rstrip("/").rpartition("/")
        else:
            name = data.get("project", {}).get("name") or data.get("tool", {}).get(
                "release", {}
            ).get("package", "")
            package = str(name).replace("-", "_")
            src = "src" if (tree / "src" / package).is_dir() else ""
        scripts = data.get("project", {}).get("scripts", {})
        modules = [str(v).partition(":")[0] for v in scripts.values()]
        cli = next((m for m in modules if m.split(".")[0] == package), None)
        towncrier = data.get("tool", {}).get("towncrier", {})
        return cls(src, package, cli, str(towncrier.get("directory", "changelog.d")))


#: A source: (old tree, new tree, payload) -> its findings; raises SourceUnread when it cannot.
Source = Callable[[Path, Path, Payload], list[Finding]]


@dataclass
class Evidence:
    """Everything the sources found between *baseline* (a tag) and *commit*."""

    baseline: str
    commit: str
    findings: list[Finding] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)  # "source: why it could not be read"
    cached: bool = False

    @property
    def breaks(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "break"]

    @property
    def features(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "feature"]

    def as_dict(self) -> dict[str, object]:
        return {
            "baseline": self.baseline,
            "commit": self.commit,
            "breaks": [asdict(f) for f in self.breaks],
            "features": [asdict(f) for f in self.features],
            "unread": list(self.unread),
        }


def _sources() -> dict[str, Source]:
    from . import api, cli, fragments, http, migrations

    return {
        "api": api.compare,
        "cli": cli.compare,
        "http": http.compare,
        "migrations": migrations.compare,
        "fragments": fragments.compare,
    }


def _fingerprint() -> str:
    """The guard's own code and griffe's version: another answer may come from either."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    try:
        digest.update(metadata.version("griffe").encode())
    except metadata.PackageNotFoundError:
        digest.update(b"no griffe")
    digest.update(f"{sys.version_info[:2]}".encode())
    return digest.hexdigest()


def _cache_file(*words: str) -> Path:
    """Where the answer for *words* (tree ids, and what else decides it) is remembered."""
    key = hashlib.sha256("\0".join([*words, _fingerprint()]).encode()).hexdigest()[:32]
    return usercache.folder("semver") / f"{key}.json"


def _export(git: Git, ref: str, dest: Path, paths: list[str]) -> Path:
    """*paths* of *ref* (those it has) unpacked into *dest*, from ``git archive``."""
    listed = git.read("ls-tree", "--name-only", ref, "--", *paths).splitlines()
    if not listed:  # none of them there: an empty tree (git archive would take everything)
        dest.mkdir(parents=True, exist_ok=True)
        return dest
    archive = dest.with_suffix(".tar")
    git.read("archive", "--format=tar", "-o", str(archive), ref, "--", *listed)
    extract_archive(archive, dest)
    return dest


def _subtree(git: Git, ref: str, path: str) -> str | None:
    """The id of *path*'s tree in *ref* (its content: equal ids, equal code), None if absent."""
    return git.read("rev-parse", "--verify", "--quiet", f"{ref}:{path}", check=False) or None


def gather(repo: Path, baseline: str, commit: str) -> Evidence:
    """The evidence between *baseline* and *commit* of *repo*: remembered, else gathered."""
    git = Git(repo)
    trees = git.read("rev-parse", f"{baseline}^{{tree}}", f"{commit}^{{tree}}").split()
    cache = _cache_file(*trees)
    if cache.is_file():
        data = json.loads(cache.read_text(encoding="utf-8"))
        found = [Finding(**f) for f in data["findings"]]
        return Evidence(baseline, commit, found, cached=True)
    evidence = Evidence(baseline, commit)
    with tempfile.TemporaryDirectory(prefix="release-semver-") as tmp:
        payload = Payload.of(_export(git, commit, Path(tmp) / "pyproject", ["pyproject.toml"]))
        paths = ["pyproject.toml", payload.src or payload.package, payload.fragments_dir]
        old = _export(git, baseline, Path(tmp) / "old", paths)
        new = _export(git, commit, Path(tmp) / "new", paths)
        from . import probe

        sources = _sources()
        code = [_subtree(git, ref, payload.src or payload.package) for ref in (baseline, commit)]
        if code[0] is not None and code[0] == code[1]:  # the same code: only fragments differ
            sources = {"fragments": sources["fragments"]}
        for tree, code_id in zip((old, new), code, strict=True):  # both asked at once
            if "cli" in sources and code_id is not None:
                probe.start(tree, payload, _cache_file("probe", code_id, sys.executable))
        running = {
            name: in_background(source, old, new, payload) for name, source in sources.items()
        }
        for name, future in running.items():
            try:
                evidence.findings += future.result()
            except ReleaseError as exc:
                evidence.unread.append(f"{name}: {exc.message}")
        probe.forget(old, new)
    if not evidence.unread:
        data = {"findings": [asdict(f) for f in evidence.findings]}
        usercache.write_whole(cache, json.dumps(data))  # a run beside it reads it whole
    return evidence
