"""Fixtures for the engine's end-to-end tests: rehearsals through real local stand-ins."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from release_engine.cadence import next_version
from release_engine.config import load_config
from release_engine.context import Options
from release_engine.engine import Report, release, rollback
from release_engine.output import ConsoleReporter
from release_engine.plan import Outcome
from release_engine.rehearsal import StandIns, clone_for_rehearsal, rehearsal_context, stand_ins
from release_engine.remotes import index
from release_engine.remotes.registry.client import Registry
from release_engine.standins.github_api import GitHubStandIn
from release_engine.tools.changelog import extract_section
from release_engine.version import parse_version
from tests.conftest import REPO, git, in_ci

if TYPE_CHECKING:
    from release_engine.standins.registry import RegistryStandIn

#: The project's version now, and the versions rehearsals release after it: the next minor,
#: the minor after that, and a hotfix of the first. Nothing here pins the project's version.
CURRENT = load_config(REPO).current_version
VERSION = next_version(parse_version(CURRENT), "minor").pep440
AFTER = next_version(parse_version(VERSION), "minor").pep440
HOTFIX = next_version(parse_version(VERSION), "patch").pep440
VERSION_LABEL = "org.opencontainers.image.version"
MANIFEST = "deploy/k8s/deployment.yaml"


#: The modules holding the longest end-to-end tests (one is a release and fifteen resumed runs,
#: others several releases each), collected first: shared out among workers, a long test
#: started last would keep its worker busy long after the others ran out of tests.
LONGEST_FIRST = (
    "tests/engine/test_resume.py::",
    "tests/engine/test_lifecycle.py::",
    "tests/engine/test_docs.py::",
    "tests/engine/test_hotfix_rollback.py::",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Those modules first, each kept whole (its module-scoped fixtures start once)."""

    def rank(item: pytest.Item) -> int:
        found = (n for n, module in enumerate(LONGEST_FIRST) if item.nodeid.startswith(module))
        return next(found, len(LONGEST_FIRST))

    items.sort(key=rank)  # stable: the order within each module and of the rest is kept


@dataclass
class Rehearsal:
    work: Path
    remote: Path
    s: StandIns

    #: The release day, when a test compares releases made at different times (midnight).
    date: str | None = None

    #: The last run's reporter: its ``seen`` is what that run reported, also if it stopped.
    reporter: ConsoleReporter = field(default_factory=ConsoleReporter)

    def run(self, version: str = VERSION, **kwargs: object) -> Report:
        options = Options(date=self.date)
        ctx = rehearsal_context(self.work, parse_version(version), self.s, options=options)
        self.reporter = ConsoleReporter()
        return release(ctx, self.reporter, **kwargs)  # type: ignore[arg-type]

    def add_fragment(self, name: str, text: str) -> None:
        """A contributor's change on main: changelog.d/*name*, committed and pushed."""
        (self.work / "changelog.d" / name).write_text(text + "\n")
        git(self.work, "add", "changelog.d")
        git(self.work, "commit", "-qm", f"Add {name}")
        git(self.work, "push", "-q", "origin", "main")

    def rollback(self, version: str, *, dry_run: bool = False) -> list[Outcome]:
        """``inv rollback --version VERSION`` against the stand-ins."""
        ctx = rehearsal_context(self.work, parse_version(version), self.s)
        ctx.resume_command = f"inv rollback --version {version}"
        return rollback(ctx, ConsoleReporter(), dry_run=dry_run)


@pytest.fixture(scope="module")
def shared_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One real registry for a module; each test pushes under its own namespace."""
    from release_engine.remotes.registry.container import detect_engine

    if detect_engine() is None:
        if in_ci():
            pytest.fail("CI must run the container steps: no container engine found")
        yield None
        return
    from release_engine.standins.registry import RegistryStandIn

    with RegistryStandIn(tmp_path_factory.mktemp("registry")) as registry:
        yield registry
        remove_images(registry)  # the registry says what was pushed: while it still runs


@pytest.fixture
def rehearsal(
    source_repo: Path,
    tmp_path: Path,
    clean_env: None,
    shared_registry: Any,
    request: pytest.FixtureRequest,
) -> Iterator[Rehearsal]:
    namespace = "".join(c if c.isalnum() else "-" for c in request.node.name.lower())[-60:]
    with stand_ins(
        tmp_path / "standins",
        given={"registry": shared_registry},
        without=set() if shared_registry is not None else {"registry"},
        namespace=f"{namespace.strip('-')}/",
    ) as s:
        work = clone_for_rehearsal(source_repo, tmp_path)
        yield Rehearsal(work, tmp_path / "remote.git", s)


@pytest.fixture
def imageless_rehearsal(source_repo: Path, tmp_path: Path, clean_env: None) -> Iterator[Rehearsal]:
    """A rehearsal with no container registry, for a test that looks at no image: the image
    steps and the deploy manifests step are skipped (building an image is most of a release).
    """
    with stand_ins(tmp_path / "standins", without={"registry"}) as s:
        work = clone_for_rehearsal(source_repo, tmp_path)
        yield Rehearsal(work, tmp_path / "remote.git", s)


def remove_images(registry: RegistryStandIn) -> None:
    """Untag the images a module pushed to its *registry*. Only tags go: deleting image layers
    here would pull the build cache from under a build running in a parallel worker.

    The names come from the registry (its catalog and each repository's tags), not from
    ``podman images``: listing a local store of hundreds of images takes most of a minute, and
    every image a rehearsal builds is pushed under the name it is tagged with locally. A name
    no longer tagged here (a test untagged it) is fine: untagging it fails, alone.
    """
    from release_engine.remotes.registry.container import detect_engine

    engine = detect_engine()
    if engine not in ("podman", "buildah"):
        return

    def untag(image: str, *names: str) -> bool:
        """Drop *names* from *image* (the first name not on it stops the rest)."""
        argv = [engine, "untag", image, *names]
        return subprocess.run(argv, capture_output=True, check=False).returncode == 0

    # One after another: two untags of one image at once can lose one of the two changes.
    for refs in pushed_refs(registry).values():
        # `podman untag IMAGE` alone drops every name of the image: name the ones to drop.
        # A release's tags are mostly one image (vX.Y.Z and latest): one call; else each.
        if refs and not untag(refs[0], *refs):
            for ref in refs:
                untag(ref, ref)


def pushed_refs(registry: RegistryStandIn) -> dict[str, list[str]]:
    """Every ``HOST:PORT/NAME:TAG`` the registry stand-in holds, by repository, read over its
    HTTP API."""
    token = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()

    def read(path: str) -> list[str]:
        """One listing, page after page (``Link: <NEXT>; rel="next"``)."""
        found: list[str] = []
        url: str | None = f"{registry.base_url}/v2/{path}"
        while url:
            request = urllib.request.Request(url, headers={"Authorization": f"Basic {token}"})
            with urllib.request.urlopen(request, timeout=30) as response:
                data: dict[str, Any] = json.loads(response.read())
                link = response.headers.get("Link", "")
            found += data.get("repositories" if path.startswith("_catalog") else "tags") or []
            url = f"{registry.base_url}{link[1 : link.index('>')]}" if link else None
        return found

    found = {name: read(f"{name}/tags/list") for name in read("_catalog?n=1000")}
    return {name: [f"{registry.url}/{name}:{tag}" for tag in tags] for name, tags in found.items()}


def github_get(s: StandIns, path: str) -> list[dict[str, Any]]:
    """Read the GitHub stand-in from outside, as any API client would."""
    request = urllib.request.Request(
        f"{s.github.url}/repos/{s.github.repository}{path}",
        headers={
            "Authorization": f"Bearer {s.github.token}",
            "Accept": "application/vnd.github+json",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        data: list[dict[str, Any]] = json.loads(response.read())
    return data


_sbom_tag = re.compile(r"^sha256-[0-9a-f]{64}\.sbom$")


def published_state(r: Rehearsal, version: str = VERSION) -> dict[str, object]:
    """Everything the release published, read back from the stand-ins and the remote."""
    tag = f"v{version}"
    remote = r.remote
    # The manifests name the image that was pushed: this rehearsal's registry and namespace.
    # Two rehearsals compare alike with that name put aside, and so do their trees.
    manifest = git(remote, "show", f"main:{MANIFEST}")
    if r.s.registry is not None:
        pushed = f"{r.s.registry.url}/{r.s.namespace}market-data-ingestion"
        manifest = manifest.replace(pushed, "<the pushed image>")
    files = [line for line in git(remote, "ls-tree", "-r", "main").splitlines()
             if not line.endswith(f"\t{MANIFEST}")]  # fmt: skip
    state: dict[str, object] = {
        "tag_type": git(remote, "cat-file", "-t", tag),
        "tag_message": git(remote, "tag", "-l", "--format=%(contents:subject)", tag),
        "tag_subject": git(remote, "log", "-1", "--format=%s", f"{tag}^{{commit}}"),
        "tag_tree": git(remote, "rev-parse", f"{tag}^{{tree}}"),
        "main_tree": [*files, manifest],
        "merges": git(remote, "log", "--merges", "--format=%s", "main"),
        "main_contains_tag": subprocess.run(
            ["git", "merge-base", "--is-ancestor", tag, "main"], cwd=remote
        ).returncode
        == 0,
        "branches": sorted(git(remote, "branch", "--format=%(refname:short)").split()),
        "manifest": manifest,
        "init": git(remote, "show", "main:src/market_data_ingestion/__init__.py"),
    }
    changelog = git(remote, "show", f"{tag}:CHANGELOG.md")
    state["section"] = extract_section(changelog, version)
    state["served"] = sorted(index.served_files(r.s.index.simple_url, "market-data-ingestion"))
    state["release_bodies"] = [rel["body"] for rel in github_get(r.s, "/releases")]
    state["release_posts"] = r.s.github.count("POST", "/repos/rehearsal/release/releases")
    state["notifications"] = len(r.s.slack.received)
    state["emails"] = len(r.s.mail.delivered) if r.s.mail is not None else None
    state["packages_on_disk"] = sorted(p.name for p in r.s.index.packages.iterdir())
    if r.s.registry is not None:
        with registry_of(r) as registry:
            # the SBOM's tag names the image's digest, which differs between rehearsals
            state["image_tags"] = sorted(_sbom_tag.sub("sha256-<digest>.sbom", t)
                                         for t in registry.tags())  # fmt: skip
            digests = {t: registry.digest(t) for t in (tag, "latest")}
            state["one_digest"] = digests[tag] is not None and digests[tag] == digests["latest"]
            state["image_label"] = registry.labels(tag)[VERSION_LABEL]
    return state


def registry_of(r: Rehearsal) -> Registry:
    """The rehearsal's image repository in its registry, read from outside the engine."""
    registry = r.s.registry
    if registry is None:
        raise LookupError("this rehearsal has no registry")
    return Registry(
        f"{registry.url}/{r.s.namespace}market-data-ingestion",
        tls_verify=False,
        username=registry.username,
        password=registry.password,
        authfile=r.work.parent / "outside-auth.json",
    )


@pytest.fixture
def gh() -> Iterator[GitHubStandIn]:
    """A GitHub API stand-in for ``your-org/finbot``, stopped after the test."""
    with GitHubStandIn("your-org/finbot") as standin:
        yield standin


def standin_settings(s: StandIns, webhook: str | None = None) -> tuple[dict[str, str], list[str]]:
    """The environment and ``--set`` flags that point ``inv release`` at the stand-ins *s*.

    The image is left out (``image=``): these runs publish no container image.
    """
    env = {
        **os.environ,
        "GITHUB_TOKEN": s.github.token,
        "TWINE_USERNAME": s.index.username,
        "TWINE_PASSWORD": s.index.password,
        "RELEASE_NOTIFY_WEBHOOKS": webhook or s.slack.url,
    }
    flags = [
        "--set", "remote=origin",
        "--set", f"index_url={s.index.upload_url}",
        "--set", f"index_simple_url={s.index.simple_url}",
        "--set", f"github_repository={s.github.repository}",
        "--set", f"github_api_url={s.github.url}",
        "--set", "image=",
    ]  # fmt: skip
    if s.mail is not None:  # the project requires the email channel: its stand-in, and login
        env |= {"SMTP_USERNAME": s.mail.username, "SMTP_PASSWORD": s.mail.password}
        flags += ["--set", "smtp_host=127.0.0.1", "--set", f"smtp_port={s.mail.port}",
                  "--set", "smtp_starttls=false", "--set", "email_from=release@localhost",
                  "--set", "email_to=people@localhost"]  # fmt: skip
    return env, flags


#: The mail settings :func:`configure_mail` gives the project: a real release would send there.
MAIL_TO = "users@example.test"


def configure_mail(r: Rehearsal) -> None:
    """The project sends its release notes by email: a mail server and recipients in its
    ``[tool.release]``, committed and pushed. A rehearsal swaps that server for its stand-in;
    without one it sends no email, as the project's own release would not."""
    pyproject = r.work / "pyproject.toml"
    text = re.sub(r"^(smtp_host|email_from|email_to) = .*\n", "", pyproject.read_text(), flags=re.M)
    pyproject.write_text(text)  # the project's own mail settings, replaced by these
    settings = (
        '[tool.release]\nsmtp_host = "smtp.example.test"\n'
        f'email_from = "release@example.test"\nemail_to = ["{MAIL_TO}"]\n'
    )
    pyproject.write_text(pyproject.read_text().replace("[tool.release]\n", settings, 1))
    git(r.work, "commit", "-qam", "Send the release notes by email")
    git(r.work, "push", "-q", "origin", "main")
