"""The preflight's checks of what would fail after publishing (release_engine/checks/), each
made to fire against a real clone, remote and index; and every problem found in one run."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from release_engine.config import Credentials
from release_engine.context import Options
from release_engine.errors import MalformedConfigError
from release_engine.netcause import cause
from release_engine.preflight import preflight
from release_engine.standins.pypi import PackageIndexStandIn
from tests.conftest import git
from tests.engine.conftest import CURRENT, MANIFEST, VERSION
from tests.engine.test_preflight import make_work, open_local, problems

IMAGE = "127.0.0.1:5999/ns/market-data-ingestion"


@pytest.fixture
def work(source_repo: Path, tmp_path: Path, clean_env: None) -> Path:
    return make_work(source_repo, tmp_path)


def test_a_main_branch_the_remote_lacks_is_bad_configuration(work: Path) -> None:
    with pytest.raises(MalformedConfigError) as caught:
        preflight(open_local(work, main_branch="mian"))
    said = str(caught.value)
    assert said == (
        "main_branch = 'mian': origin has no such branch (did you mean 'main'?) (its branches: "
        "main): fix [tool.release] main_branch or --set main_branch"
    )
    assert caught.value.exit_code == 2


def test_a_deploy_manifest_that_is_not_there_is_refused(work: Path) -> None:
    ctx = open_local(work, deploy_manifests=("deploy/k8s/deploymnet.yaml",))
    assert (
        "deploy manifest deploy/k8s/deploymnet.yaml is not on main: fix [tool.release] "
        "deploy_manifests (or --set deploy_manifests=PATH,…)"
    ) in problems(ctx)


def test_a_manifest_without_the_image_and_a_missing_dockerfile_are_refused(work: Path) -> None:
    (work / MANIFEST).write_text("kind: Deployment\nspec: {}\n")
    git(work, "rm", "-q", "Dockerfile")
    git(work, "commit", "-qam", "no image line, no Dockerfile")
    git(work, "push", "-q", "origin", "main")
    found = problems(open_local(work, image=IMAGE))
    assert any(
        p.startswith(f"deploy manifest {MANIFEST} has no 'image: …/market-data-ingestion:TAG'")
        for p in found
    )
    assert any(p.startswith("dockerfile Dockerfile is not on main") for p in found)


def test_required_channels_not_configured_are_refused_unless_waived(work: Path) -> None:
    both = {"required_channels": ("notify", "email")}
    found = problems(open_local(work, **both))
    assert (
        "notify is a required channel but $RELEASE_NOTIFY_WEBHOOKS holds no webhook URL: "
        "export the Slack webhook URLs, or pass --skip-channels"
    ) in found
    assert (
        "email is a required channel but smtp_host, email_from, email_to is empty: set it in "
        "[tool.release] (or --set), or pass --skip-channels"
    ) in found
    waived = Options(skip_prerelease=True, skip_channels=True)
    notes = preflight(open_local(work, options=waived, **both))
    assert "required channels check skipped (--skip-channels): notify, email may not be told" in (
        notes
    )
    dry = preflight(open_local(work, **both), dry_run=True)  # a dry run sends nothing: noted
    assert any(
        n.startswith("a release would be refused: notify is a required channel") for n in dry
    )


def test_the_email_channel_needs_its_login(work: Path) -> None:
    ctx = open_local(
        work, required_channels=("email",), smtp_host="127.0.0.1", email_from="r@localhost",
        email_to=("p@localhost",), smtp_port=9,
    )  # fmt: skip
    assert any(
        p.startswith("email is a required channel but SMTP_USERNAME and SMTP_PASSWORD")
        for p in problems(ctx)
    )


@pytest.fixture
def index(tmp_path: Path) -> Iterator[PackageIndexStandIn]:
    with PackageIndexStandIn(tmp_path / "index") as standin:
        yield standin


def on_index(index: PackageIndexStandIn) -> dict[str, object]:
    return {"index_url": index.upload_url, "index_simple_url": index.simple_url}


def test_files_of_the_version_already_on_the_index_are_refused_before_anything(
    work: Path, index: PackageIndexStandIn
) -> None:
    (index.packages / f"market_data_ingestion-{VERSION}.tar.gz").write_bytes(b"not ours")
    creds = Credentials({"TWINE_USERNAME": index.username, "TWINE_PASSWORD": index.password})
    from release_engine.engine import open_release
    from release_engine.version import parse_version

    ctx = open_release(
        work, parse_version(VERSION), options=Options(skip_prerelease=True), credentials=creds,
        overrides={"github_repository": "", "image": "", "required_channels": (),
                   "smtp_host": "", **on_index(index)},
    )  # fmt: skip
    before = git(work, "show-ref")
    assert problems(ctx) == [
        f"the index already serves market_data_ingestion-{VERSION}.tar.gz, which this release "
        f"did not upload (an index never replaces a file): choose another version than {VERSION}"
    ]
    assert git(work, "show-ref") == before


def test_a_closed_index_is_refused_by_a_real_run_naming_host_and_cause(work: Path) -> None:
    closed = {"index_url": "http://127.0.0.1:9/legacy/", "index_simple_url": "http://127.0.0.1:9/"}
    found = problems(open_local(work, **closed))
    assert "the package index at http://127.0.0.1:9 is unreachable (connection refused: " in (
        " ".join(found)
    )
    assert not any("ConnectionError" in p for p in found)


def test_every_problem_at_once_token_unset_and_remotes_down(work: Path) -> None:
    """GITHUB_TOKEN unset no longer hides that GitHub and the index are down."""
    ctx = open_local(
        work, github_repository="your-org/finbot", github_api_url="http://127.0.0.1:9",
        index_url="http://127.0.0.1:9/legacy/", index_simple_url="http://127.0.0.1:9/simple/",
    )  # fmt: skip
    found = problems(ctx)
    assert "GITHUB_TOKEN is not set: export a token that can create releases" in found
    assert any(
        p.startswith("GitHub at http://127.0.0.1:9 is unreachable (connection") for p in found
    )
    assert any(p.startswith("the package index at http://127.0.0.1:9 is unreach") for p in found)


def tag_previous(work: Path) -> str:
    """The project's current version, released: a tag on main's tip, pushed."""
    tag = f"v{CURRENT}"
    git(work, "tag", "-a", tag, "-m", f"Release version {CURRENT}")
    git(work, "push", "-q", "origin", tag)
    return tag


def test_news_without_a_documentation_change_is_refused(work: Path) -> None:
    tag = tag_previous(work)
    (work / "changelog.d" / "+only.added.md").write_text("Added a thing.\n")
    git(work, "add", "--all")
    git(work, "commit", "-qm", "news, no docs")
    git(work, "push", "-q", "origin", "main")
    found = [p for p in problems(open_local(work)) if "did not change since" in p]
    assert len(found) == 1 and "+only.added.md" in found[0]
    assert found[0].endswith(
        f"but docs/, README.md did not change since {tag}: update the documentation, "
        "or pass --skip-docs"
    )
    notes = preflight(open_local(work, options=Options(skip_prerelease=True, skip_docs=True)))
    assert any(n.startswith("documentation check skipped (--skip-docs)") for n in notes)
    (work / "docs" / "thing.md").write_text("# The thing\n")
    git(work, "add", "--all")
    git(work, "commit", "-qm", "document the thing")
    git(work, "push", "-q", "origin", "main")
    preflight(open_local(work))


def test_fixes_alone_need_no_documentation_change(work: Path) -> None:
    tag_previous(work)
    git(work, "rm", "-q", *(str(f) for f in (work / "changelog.d").glob("*.*.md")))
    (work / "changelog.d" / "+bug.fixed.md").write_text("Fixed a bug.\n")
    git(work, "add", "--all")
    git(work, "commit", "-qm", "a fix")
    git(work, "push", "-q", "origin", "main")
    preflight(open_local(work))


# --- network failures, in words ---------------------------------------------------------------
def test_a_refused_connection_and_a_name_that_does_not_resolve() -> None:
    with pytest.raises(requests.RequestException) as refused:
        requests.get("http://127.0.0.1:9/", timeout=5)
    assert cause(refused.value).startswith("connection refused")
    with pytest.raises(requests.RequestException) as unknown:
        requests.get("http://no-such-host.invalid/", timeout=5)
    assert cause(unknown.value) == "DNS: the host name does not resolve"


@contextmanager
def tcp_server(reply: bytes) -> Iterator[int]:
    """A port that accepts connections and sends *reply* (nothing: it stays silent)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn = server.accept()[0]
            except OSError:
                continue
            held.append(conn)
            if reply:
                conn.sendall(reply)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


def test_a_timeout_and_a_tls_failure() -> None:
    with tcp_server(b"") as port, pytest.raises(requests.RequestException) as slow:
        requests.get(f"http://127.0.0.1:{port}/", timeout=0.3)
    assert cause(slow.value) == "timeout: no answer in time"
    plain = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
    with tcp_server(plain) as port, pytest.raises(requests.RequestException) as tls:
        requests.get(f"https://127.0.0.1:{port}/", timeout=5)
    assert cause(tls.value).startswith("TLS: ")
