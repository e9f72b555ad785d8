"""The package index adapter (:mod:`release_engine.remotes.index`) against real servers:
pypiserver fed by real twine uploads of tiny dists, and a hand-written simple API (PEP 691
JSON and PEP 503 HTML) on a local http.server."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import logging
import socket
import sys
import tarfile
import threading
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from release_engine.errors import CommandError, ConfigError, ConflictError, ReleaseError
from release_engine.proc import run
from release_engine.remotes import index
from release_engine.standins.pypi import PackageIndexStandIn

PROJECT = "market-data-ingestion"
DIST = "market_data_ingestion"
STAMP = (2020, 1, 1, 0, 0, 0)
README = "# market-data-ingestion\n\nA tiny stand-in distribution.\n"
PASSWORD = "s3cret-pass"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"


def metadata(version: str, readme: str | None = README) -> str:
    head = f"Metadata-Version: 2.1\nName: {PROJECT}\nVersion: {version}\nSummary: Tiny.\n"
    if readme is None:
        return head
    return head + f"Description-Content-Type: text/markdown\n\n{readme}"


def make_wheel(
    dest: Path, version: str, payload: str = "x = 1\n", readme: str | None = README
) -> Path:
    """A valid, reproducible pure-Python wheel (same arguments, same bytes)."""
    info = f"{DIST}-{version}.dist-info"
    files = {
        f"{DIST}/__init__.py": payload,
        f"{info}/METADATA": metadata(version, readme),
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = []
    path = dest / f"{DIST}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, text in files.items():
            data = text.encode()
            wheel.writestr(zipfile.ZipInfo(name, STAMP), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{name},sha256={digest.decode()},{len(data)}")
        record.append(f"{info}/RECORD,,")
        wheel.writestr(zipfile.ZipInfo(f"{info}/RECORD", STAMP), "\n".join(record) + "\n")
    return path


def make_sdist(dest: Path, version: str, payload: str = "x = 1\n") -> Path:
    """A valid, reproducible sdist holding PKG-INFO, pyproject.toml and the module."""
    root = f"{DIST}-{version}"
    files = {
        "PKG-INFO": metadata(version),
        f"src/{DIST}/__init__.py": payload,
        "pyproject.toml": f'[project]\nname = "{PROJECT}"\nversion = "{version}"\n',
    }
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, text in files.items():
            data = text.encode()
            member = tarfile.TarInfo(f"{root}/{name}")
            member.size, member.mtime, member.mode = len(data), 0, 0o644
            tar.addfile(member, io.BytesIO(data))
    path = dest / f"{root}.tar.gz"
    with path.open("wb") as out, gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return path


@pytest.fixture
def dists(tmp_path: Path) -> list[Path]:
    (tmp_path / "dist").mkdir()
    return [make_sdist(tmp_path / "dist", "0.1.0"), make_wheel(tmp_path / "dist", "0.1.0")]


@pytest.fixture
def pypi(tmp_path: Path) -> Iterator[PackageIndexStandIn]:
    server = PackageIndexStandIn(tmp_path / "index")
    try:
        yield server
    finally:
        server.stop()


def upload(pypi: PackageIndexStandIn, files: list[Path], password: str | None = None) -> None:
    """Upload as the Upload step does: a refusal of a name the index holds is judged by the
    sha256 it then serves (other bytes under a name are a ConflictError)."""
    command = index.upload_command(
        files,
        repository_url=pypi.upload_url,
        username=pypi.username,
        password=password or pypi.password,
    )
    try:
        run(command)
    except CommandError as exc:
        error = index.upload_refused(exc, files, index.served_files(pypi.simple_url, PROJECT))
        if error is not None:
            raise error from exc
    local = {Path(f): index.sha256_of(f) for f in files}
    read = lambda: index.served_files(pypi.simple_url, PROJECT)  # noqa: E731
    index.await_served(read, local, bound=5, progress=lambda line: None)


# --- pure parts ------------------------------------------------------------------------------


def test_sha256_of_matches_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"\x00" * 3_000_000)
    assert index.sha256_of(path) == hashlib.sha256(b"\x00" * 3_000_000).hexdigest()


def test_plan_uploads_sorts_new_same_and_conflicting(tmp_path: Path) -> None:
    a, b, c = (tmp_path / n for n in ("a-1.tar.gz", "a-1-py3-none-any.whl", "a-1-py2-none-any.whl"))
    local = {a: "11" * 32, b: "22" * 32, c: "33" * 32}
    served = {"a-1.tar.gz": "11" * 32, "a-1-py3-none-any.whl": "99" * 32, "other.whl": "00" * 32}
    assert index.plan_uploads(local, served) == ([c], [a], [b])
    assert index.plan_uploads(local, {}) == index.UploadPlan([c, b, a], [], [])


def test_plan_uploads_hashes_a_list_of_paths(dists: list[Path]) -> None:
    served = {dists[0].name: index.sha256_of(dists[0]), dists[1].name: "0" * 64}
    to_upload, already_there, conflicts = index.plan_uploads(dists, served)
    assert (to_upload, already_there, conflicts) == ([], [dists[0]], [dists[1]])


NAMES = [
    "market_data_ingestion-0.2.0.tar.gz",
    "Market_Data.Ingestion-0.2.0-py3-none-any.whl",  # odd spelling, same project
    "market-data-ingestion-0.2.0.zip",  # legacy sdist spelling
    "market_data_ingestion-0.2.0-1-cp312-cp312-manylinux_2_17_x86_64.whl",  # build tag
    "market_data_ingestion-0.2.00-py3-none-any.whl",  # 0.2.00 is 0.2.0 (PEP 440)
    "market_data_ingestion-0.2.0rc1.tar.gz",  # another version
    "market_data_ingestion-0.2.1-py3-none-any.whl",
    "market_data_ingestion_extras-0.2.0.tar.gz",  # another project
    "market_data_ingestion-0.2.0.tar.gz.asc",
    "market_data_ingestion-0.2.0-py3-none-any.whl.metadata",
    "not a dist",
    "market_data_ingestion-x.y-py3-none-any.whl",
    "README.md",
]


def test_release_files_parse_names_as_packaging_does() -> None:
    assert index.release_files(NAMES, "Market.Data_Ingestion", "0.2.0") == NAMES[:5]
    assert index.release_files(NAMES, PROJECT, "0.2.0rc1") == [NAMES[5]]
    assert index.release_files(iter(NAMES), "market-data", "0.2.0") == []
    with pytest.raises(ReleaseError, match="not a PEP 440 version"):
        index.release_files(NAMES, PROJECT, "next")


def test_artifacts_are_exactly_one_sdist_and_one_wheel(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    assert index.artifacts(dist, PROJECT, "0.2.0") == []  # no directory yet
    dist.mkdir()
    wheel = dist / "Market_Data.Ingestion-0.2.0-py3-none-any.whl"
    sdist = dist / "market_data_ingestion-0.2.0.tar.gz"
    wheel.touch()
    assert index.artifacts(dist, PROJECT, "0.2.0") == []  # the sdist is missing
    sdist.touch()
    (dist / "sub").mkdir()  # directories are not files
    assert index.artifacts(dist, "market_data.ingestion", "0.2.0") == [sdist, wheel]
    assert index.artifacts(dist, PROJECT, "0.2.1") == []  # another version
    assert index.artifacts(dist, "market-data", "0.2.0") == []  # another project
    strays = ("notes.txt", "market_data_ingestion-0.1.0-py3-none-any.whl", f"{DIST}-0.2.0.zip")
    for stray in strays:  # a stray file, another version's wheel, a second sdist
        extra = dist / stray
        extra.touch()
        assert index.artifacts(dist, PROJECT, "0.2.0") == [], stray
        extra.unlink()
    sdist.unlink()
    (dist / "market_data_ingestion-0.2.0-py2-none-any.whl").touch()  # two wheels, no sdist
    assert index.artifacts(dist, PROJECT, "0.2.0") == []


# --- the twine commands ----------------------------------------------------------------------


def test_check_command_passes_good_dists_and_fails_strictly(
    dists: list[Path], tmp_path: Path
) -> None:
    command = index.check_command(dists[0].parent)
    assert command.argv == (
        sys.executable, "-m", "twine", "--no-color", "check", "--strict", f"{dists[0].parent}/*"
    )  # fmt: skip
    assert not command.env and not command.secret_env
    run(command)  # twine expands the * itself: no shell anywhere
    (tmp_path / "bare").mkdir()
    make_wheel(tmp_path / "bare", "0.1.0", readme=None)
    with pytest.raises(CommandError) as caught:
        run(index.check_command(tmp_path / "bare"))
    assert "long_description" in str(caught.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError):
        run(index.check_command(tmp_path / "empty"))


def test_upload_command_keeps_the_password_out_of_argv(dists: list[Path]) -> None:
    command = index.upload_command(
        dists, repository_url="https://upload.example/legacy/", username="u", password=PASSWORD
    )
    assert command.argv == (
        sys.executable, "-m", "twine", "--no-color", "upload", "--verbose", "--non-interactive",
        "--disable-progress-bar", "--repository-url", "https://upload.example/legacy/",
        *map(str, dists),
    )  # fmt: skip
    assert PASSWORD not in " ".join(command.argv) and PASSWORD not in command.render()
    assert command.env == {"TWINE_USERNAME": "u", "TWINE_PASSWORD": PASSWORD}
    assert command.secret_env == {"TWINE_PASSWORD"}
    assert command.long and command.timeout == 900
    with pytest.raises(ReleaseError, match="no distribution files"):
        index.upload_command([], repository_url="https://x.example/", username="u", password="p")
    with pytest.raises(ConfigError, match="no index password or token: export TWINE_PASSWORD"):
        index.upload_command(dists, repository_url="https://x.example/", username="u", password="")
    with pytest.raises(ConfigError) as caught:
        index.upload_command(
            dists, repository_url=f"https://u:{PASSWORD}@x.example/", username="u", password="p"
        )
    assert PASSWORD not in str(caught.value) and "u:***@x.example" in str(caught.value)


@pytest.mark.parametrize(
    "output",
    [
        "HTTPError: 409 Conflict from http://127.0.0.1:1/\nFile already exists",  # pypiserver
        "400 File already exists ('m-1.tar.gz', with blake2_256 hash '…').",  # PyPI
        "400 This filename has already been used, use a different version.",  # PyPI, deleted
    ],
)
def test_upload_refused_turns_an_existing_file_into_a_conflict(
    output: str, dists: list[Path]
) -> None:
    failed = CommandError(["twine"], 1, output)
    error = index.upload_refused(failed, dists, {dists[0].name: "0" * 64})
    assert isinstance(error, ConflictError)
    assert str(error) == (
        f"the package index serves {dists[0].name} with other bytes than this build: an index "
        "never replaces a file (bump the version)"
    )
    same = {dists[0].name: index.sha256_of(dists[0])}
    for served in ({}, same, None):  # no other bytes served (yet): nothing to bump for
        error = index.upload_refused(failed, dists, served)
        if "already been used" in output:  # PyPI keeps a deleted file's name
            assert isinstance(error, ConflictError) and "was deleted from it" in str(error)
        else:  # the index holds the name: the sha256 it serves decides, once it shows it
            assert error is None


def test_upload_refused_passes_other_failures_through(dists: list[Path]) -> None:
    failed = CommandError(["twine"], 1, "ConnectionError: connection refused")
    assert index.upload_refused(failed, dists) is failed


def test_an_index_error_is_one_line_and_never_asks_for_a_new_version(dists: list[Path]) -> None:
    output = "Uploading x\nERROR    HTTPError: 503 Service Unavailable from http://i/\n<html>"
    failed = CommandError(["twine"], 1, output)
    error = index.upload_refused(failed, dists, {})
    assert type(error) is ReleaseError and "\n" not in str(error)
    assert str(error).startswith("the package index answered 503 Service Unavailable to ")
    assert "bump" not in str(error)


def test_an_upload_stored_in_spite_of_an_error_is_success(dists: list[Path]) -> None:
    """A 503 sent after the index stored the file: it serves the very bytes, so it is done."""
    failed = CommandError(["twine"], 1, "HTTPError: 503 Service Unavailable from http://i/")
    served = {p.name: index.sha256_of(p) for p in dists}
    assert index.upload_refused(failed, dists, served) is None
    partly = {dists[0].name: served[dists[0].name]}
    assert index.upload_refused(failed, dists, partly) is not None


# --- served files and uploads against pypiserver ---------------------------------------------


def test_unknown_project_serves_nothing(pypi: PackageIndexStandIn) -> None:
    assert index.served_files(pypi.simple_url, PROJECT) == {}
    assert index.served(pypi.simple_url, PROJECT, auth=(pypi.username, pypi.password)) == []


def test_upload_then_served_files_match_local_sha256(
    pypi: PackageIndexStandIn, dists: list[Path]
) -> None:
    run(index.check_command(dists[0].parent))
    upload(pypi, dists)
    expected = {p.name: index.sha256_of(p) for p in dists}
    assert index.served_files(pypi.simple_url, PROJECT) == expected
    assert index.served_files(pypi.simple_url.rstrip("/"), "Market_Data.Ingestion") == expected
    login = (pypi.username, pypi.password)
    assert index.served_files(pypi.simple_url, PROJECT, auth=login) == expected
    assert {f.yanked for f in index.served(pypi.simple_url, PROJECT)} == {False}
    assert index.plan_uploads(dists, expected) == ([], sorted(dists, key=lambda p: p.name), [])
    assert index.release_files(expected, PROJECT, "0.1.0") == [p.name for p in dists]


def test_second_upload_of_the_same_bytes_is_success(
    pypi: PackageIndexStandIn, dists: list[Path]
) -> None:
    upload(pypi, dists[1:])
    before = {p.name: p.stat().st_mtime_ns for p in pypi.packages.iterdir()}
    # pypiserver answers 409 to the second upload (PyPI would answer 200): twine skips the file
    # and the sha256 the index serves says it is this very file.
    upload(pypi, dists[1:])
    assert pypi.count("POST", "/") == 2
    assert {p.name: p.stat().st_mtime_ns for p in pypi.packages.iterdir()} == before
    served = index.served_files(pypi.simple_url, PROJECT)
    assert served == {dists[1].name: index.sha256_of(dists[1])}


def test_same_filename_other_bytes_is_a_conflict(
    pypi: PackageIndexStandIn, dists: list[Path], tmp_path: Path
) -> None:
    upload(pypi, dists)
    (tmp_path / "rebuilt").mkdir()
    rebuilt = make_wheel(tmp_path / "rebuilt", "0.1.0", payload="x = 2\n")
    assert rebuilt.name == dists[1].name
    assert index.sha256_of(rebuilt) != index.sha256_of(dists[1])
    served = index.served_files(pypi.simple_url, PROJECT)
    plan = index.plan_uploads([dists[0], rebuilt], served)
    assert plan == index.UploadPlan([], [dists[0]], [rebuilt])
    with pytest.raises(ConflictError):
        upload(pypi, [rebuilt])
    assert index.served_files(pypi.simple_url, PROJECT)[rebuilt.name] == index.sha256_of(dists[1])


def test_wrong_password_fails_and_never_shows_it(
    pypi: PackageIndexStandIn,
    dists: list[Path],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-password-" + pypi.password[:6]
    with pytest.raises(ReleaseError) as caught:
        upload(pypi, dists, password=wrong)
    error = caught.value
    assert "403" in str(error) and "\n" not in str(error)
    assert isinstance(error.__cause__, CommandError)
    assert wrong not in str(error) and wrong not in " ".join(error.__cause__.args_)
    assert "twine" in caplog.text and "TWINE_PASSWORD=***" in caplog.text
    upload(pypi, dists)  # the right one works
    out, err = capfd.readouterr()
    for secret in (wrong, pypi.password):
        assert secret not in caplog.text + out + err + pypi.log_text()
    assert index.served_files(pypi.simple_url, PROJECT).keys() == {p.name for p in dists}


def test_the_index_stand_in_guards_uploads_and_stops(
    pypi: PackageIndexStandIn, tmp_path: Path
) -> None:
    assert pypi.running and pypi.upload_url == f"http://127.0.0.1:{pypi.port}/"
    assert pypi.simple_url == f"{pypi.upload_url}simple/"
    for url, data, codes in (
        (f"{pypi.simple_url}requests/", None, (404,)),  # no pypi.org fallback
        (pypi.upload_url, b":action=file_upload", (401, 403)),
    ):  # anonymous
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(urllib.request.Request(url, data), timeout=10)
        assert caught.value.code in codes
    assert pypi.password not in (tmp_path / "index" / "htpasswd").read_text()
    with PackageIndexStandIn(tmp_path / "other") as other:
        assert other.password != pypi.password and other.port != pypi.port
    assert not other.running
    other.stop()  # idempotent
    with socket.socket() as sock, pytest.raises(OSError):  # stopped means the port is closed
        sock.settimeout(2)
        sock.connect(("127.0.0.1", other.port))


# --- served files from a hand-written simple API ---------------------------------------------


class Site:
    """A local http.server answering GET with the pages it is given; it notes every request."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[int, str, bytes]] = {}
        self.seen: list[dict[str, str | None]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                auth, accept = self.headers.get("Authorization"), self.headers.get("Accept")
                site.seen.append({"path": self.path, "auth": auth, "accept": accept})
                status, ctype, body = site.pages.get(self.path, (404, "text/plain", b"no"))
                self.send_response(status)
                if ctype:
                    self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def paths(self) -> list[str | None]:
        return [s["path"] for s in self.seen]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def sites() -> Iterator[tuple[Site, Site]]:
    """The index, and a second origin holding files the index links to."""
    started = (Site(), Site())
    try:
        yield started
    finally:
        for site in started:
            site.stop()


PAGE = "/simple/market-data-ingestion/"
BASIC = "Basic " + base64.b64encode(f"me:{PASSWORD}".encode()).decode()


def test_json_page_with_yanked_and_unhashed_files(sites: tuple[Site, Site]) -> None:
    site, elsewhere = sites
    wheel_sha = "AB" * 32
    files = [
        {"filename": "m-1.tar.gz", "url": "../../files/m-1.tar.gz", "hashes": {}},
        {
            "filename": "m-1-py3-none-any.whl",
            "url": f"{elsewhere.url}/f/m-1-py3-none-any.whl",
            "hashes": {"md5": "00" * 16, "sha256": wheel_sha},
            "yanked": "broken metadata",
        },
        {"filename": "m-0.9.tar.gz", "url": "/files/m-0.9.tar.gz", "hashes": {}, "yanked": True},
        {
            "filename": "m-2.tar.gz",
            "url": f"{elsewhere.url}/f/m-2.tar.gz",
            "hashes": {"sha256": "not-hex"},
        },
    ]
    page = {"meta": {"api-version": "1.1"}, "name": PROJECT, "files": files, "versions": []}
    site.pages = {
        PAGE: (200, JSON_TYPE, json.dumps(page).encode()),
        "/files/m-1.tar.gz": (200, "application/octet-stream", b"sdist bytes"),
        "/files/m-0.9.tar.gz": (200, "application/octet-stream", b"old bytes"),
    }
    elsewhere.pages = {"/f/m-2.tar.gz": (200, "application/octet-stream", b"two")}
    served = index.served(f"{site.url}/simple/", "Market.Data_Ingestion", auth=("me", PASSWORD))
    assert served == [
        index.ServedFile("m-1.tar.gz", hashlib.sha256(b"sdist bytes").hexdigest(), False),
        index.ServedFile("m-1-py3-none-any.whl", wheel_sha.lower(), True),
        index.ServedFile("m-0.9.tar.gz", hashlib.sha256(b"old bytes").hexdigest(), True),
        index.ServedFile("m-2.tar.gz", hashlib.sha256(b"two").hexdigest(), False),
    ]
    assert site.paths() == [PAGE, "/files/m-1.tar.gz", "/files/m-0.9.tar.gz"]
    assert {s["auth"] for s in site.seen} == {BASIC}
    assert (site.seen[0]["accept"] or "").startswith(JSON_TYPE)  # JSON asked for first
    assert elsewhere.seen == [{"path": "/f/m-2.tar.gz", "auth": None, "accept": "*/*"}]


def test_html_page_is_the_fallback(sites: tuple[Site, Site]) -> None:
    site, _ = sites
    wheel_sha = "ab" * 32
    html = (
        '<html><body><a href="../../files/m-1.tar.gz">m-1.tar.gz</a>'
        f'<a href="/f/m-1-py3-none-any.whl#sha256={wheel_sha}" data-requires-python="&gt;=3.10"'
        ' data-yanked="">m-1-py3-none-any.whl</a>'
        '<a href="/files/m%2B2.tar.gz#sha256=' + "CD" * 32 + '">m+2.tar.gz</a>'
        "</body></html>"
    )
    for content_type in ("text/html", "application/vnd.pypi.simple.v1+html", ""):
        site.pages = {
            PAGE: (200, content_type, html.encode()),
            "/files/m-1.tar.gz": (200, "application/octet-stream", b"sdist bytes"),
        }
        site.seen = []
        served = index.served(f"{site.url}/simple", PROJECT, auth=("me", PASSWORD))
        assert served == [
            index.ServedFile("m-1.tar.gz", hashlib.sha256(b"sdist bytes").hexdigest(), False),
            index.ServedFile("m-1-py3-none-any.whl", wheel_sha, True),
            index.ServedFile("m+2.tar.gz", "cd" * 32, False),
        ], content_type
        assert site.seen == [
            {"path": PAGE, "auth": BASIC, "accept": site.seen[0]["accept"]},
            {"path": "/files/m-1.tar.gz", "auth": BASIC, "accept": "*/*"},
        ]
        assert index.served_files(f"{site.url}/simple/", PROJECT)["m+2.tar.gz"] == "cd" * 32


@pytest.mark.parametrize(
    ("status", "error"), [(401, ConfigError), (403, ConfigError), (500, ReleaseError)]
)
def test_index_errors_name_the_page_not_the_password(
    sites: tuple[Site, Site], status: int, error: type[Exception]
) -> None:
    site, _ = sites
    site.pages = {PAGE: (status, "text/plain", b"no")}
    with pytest.raises(error) as caught:
        index.served_files(f"{site.url}/simple/", PROJECT, auth=("me", PASSWORD))
    message = str(caught.value)
    assert f"answered {status}" in message and f"{site.url}{PAGE}" in message
    if status != 500:
        assert "check the index username and password" in message
    assert PASSWORD not in message
    in_url = f"http://me:{PASSWORD}@{site.url.removeprefix('http://')}/simple/"
    with pytest.raises(error) as caught:
        index.served_files(in_url, PROJECT)
    assert PASSWORD not in str(caught.value) and "me:***@" in str(caught.value)


def test_a_file_the_index_fails_to_serve_is_an_error(sites: tuple[Site, Site]) -> None:
    site, _ = sites
    page = {"meta": {"api-version": "1.0"}, "name": PROJECT, "files": [
        {"filename": "m-1.tar.gz", "url": "/files/m-1.tar.gz", "hashes": {}},
    ]}  # fmt: skip
    site.pages = {PAGE: (200, JSON_TYPE, json.dumps(page).encode())}
    with pytest.raises(ReleaseError, match=r"answered 404 .* for http://.*/files/m-1\.tar\.gz"):
        index.served_files(f"{site.url}/simple/", PROJECT)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"{}"),  # not the simple API
        (JSON_TYPE, b"{not json"),
        (JSON_TYPE, b'{"meta": {"api-version": "1.0"}, "files": "nope"}'),
        (JSON_TYPE, b'{"meta": {"api-version": "2.0"}, "name": "m", "files": []}'),
    ],
)
def test_a_page_that_is_not_the_simple_api_is_a_config_error(
    sites: tuple[Site, Site], content_type: str, body: bytes
) -> None:
    site, _ = sites
    site.pages = {PAGE: (200, content_type, body)}
    with pytest.raises(ConfigError, match="check the index URL"):
        index.served_files(f"{site.url}/simple/", PROJECT)


def test_unreachable_index_is_a_release_error() -> None:
    with socket.socket() as sock:  # a port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/simple/"
    with pytest.raises(ReleaseError) as caught:
        index.served_files(url, PROJECT, auth=("me", PASSWORD))
    assert str(caught.value) == (
        f"could not reach the package index at {url}market-data-ingestion/: Connection refused"
    )
    with pytest.raises(ConfigError, match="check the index URL"):
        index.served_files("ftp://127.0.0.1/simple/", PROJECT)
