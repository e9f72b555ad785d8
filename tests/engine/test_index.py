"""index.py and the pypiserver stand-in: real HTTP, real twine uploads of tiny dists."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import logging
import socket
import tarfile
import threading
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from release_engine.errors import CommandError, ConfigError, ConflictError, ReleaseError
from release_engine.standins.pypi import PackageIndexStandIn
from release_engine.tools import index

PROJECT = "market-data-ingestion"
DIST = "market_data_ingestion"
STAMP = (2020, 1, 1, 0, 0, 0)
README = "# market-data-ingestion\n\nA tiny stand-in distribution.\n"


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
    index.upload(
        files,
        repository_url=pypi.upload_url,
        username=pypi.username,
        password=password or pypi.password,
    )


# --- pure parts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "market-data-ingestion",
        "Market_Data.Ingestion",
        "market__data--ingestion",
        "MARKET.DATA_INGESTION",
    ],
)
def test_normalize_follows_pep_503(name: str) -> None:
    assert index.normalize(name) == "market-data-ingestion"


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


# --- twine check -----------------------------------------------------------------------------


def test_check_passes_good_dists(dists: list[Path]) -> None:
    index.check(dists)


def test_check_strict_fails_without_a_long_description(tmp_path: Path) -> None:
    bare = make_wheel(tmp_path, "0.1.0", readme=None)
    with pytest.raises(CommandError) as caught:
        index.check([bare])
    assert "long_description" in str(caught.value)
    with pytest.raises(ReleaseError):
        index.check([])


# --- served_files and upload against pypiserver ----------------------------------------------


def test_unknown_project_serves_nothing(pypi: PackageIndexStandIn) -> None:
    assert index.served_files(pypi.simple_url, PROJECT) == {}


def test_upload_then_served_files_match_local_sha256(
    pypi: PackageIndexStandIn, dists: list[Path]
) -> None:
    index.check(dists)
    upload(pypi, dists)
    expected = {p.name: index.sha256_of(p) for p in dists}
    assert index.served_files(pypi.simple_url, PROJECT) == expected
    assert index.served_files(pypi.simple_url.rstrip("/"), "Market_Data.Ingestion") == expected
    assert index.plan_uploads(dists, expected) == ([], sorted(dists, key=lambda p: p.name), [])
    index.upload([], repository_url=pypi.upload_url, username="u", password="p")  # no-op


def test_second_upload_of_a_file_is_refused(pypi: PackageIndexStandIn, dists: list[Path]) -> None:
    upload(pypi, dists[1:])
    with pytest.raises(ConflictError) as caught:
        upload(pypi, dists[1:])
    assert dists[1].name in str(caught.value)
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
    with pytest.raises(CommandError) as caught:
        upload(pypi, dists, password=wrong)
    error = caught.value
    assert "403" in str(error)
    assert wrong not in str(error) and wrong not in " ".join(error.args_)
    assert "twine" in caplog.text and wrong not in caplog.text
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


# --- served_files against a hand-written simple page -----------------------------------------


class _Page(BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, tuple[int, bytes]]] = {}
    seen: ClassVar[list[str | None]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        type(self).seen.append(self.headers.get("Authorization"))
        status, body = self.pages.get(self.path, (404, b"Not Found"))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def page_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    _Page.pages, _Page.seen = {}, []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_links_without_a_hash_are_downloaded_and_hashed(page_server: str) -> None:
    wheel_sha = "ab" * 32
    _Page.pages = {
        "/simple/market-data-ingestion/": (
            200,
            (
                '<html><body><a href="../../files/m-1.tar.gz">m-1.tar.gz</a>'
                f'<a href="https://elsewhere.example/f/m-1-py3-none-any.whl#sha256={wheel_sha}"'
                ' data-requires-python="&gt;=3.10">m-1-py3-none-any.whl</a>'
                '<a href="/files/m%2B2.tar.gz#md5=00&amp;sha256=' + "CD" * 32 + '">x</a>'
                "</body></html>"
            ).encode(),
        ),
        "/files/m-1.tar.gz": (200, b"sdist bytes"),
    }
    served = index.served_files(
        f"{page_server}/simple/", "Market.Data_Ingestion", username="me", password="s3cret-pass"
    )
    assert served == {
        "m-1.tar.gz": hashlib.sha256(b"sdist bytes").hexdigest(),
        "m-1-py3-none-any.whl": wheel_sha,
        "m+2.tar.gz": "cd" * 32,
    }
    expected = "Basic " + base64.b64encode(b"me:s3cret-pass").decode()
    assert _Page.seen == [expected, expected]


@pytest.mark.parametrize(
    ("status", "error"), [(401, ConfigError), (403, ConfigError), (500, ReleaseError)]
)
def test_index_errors_name_the_page_not_the_password(
    page_server: str, status: int, error: type[Exception]
) -> None:
    _Page.pages = {"/simple/market-data-ingestion/": (status, b"no")}
    with pytest.raises(error) as caught:
        index.served_files(f"{page_server}/simple/", PROJECT, username="me", password="s3cret-pass")
    assert "/simple/market-data-ingestion/" in str(caught.value)
    assert "s3cret-pass" not in str(caught.value)


def test_unreachable_index_is_a_release_error() -> None:
    with pytest.raises(ReleaseError, match="could not reach the package index"):
        index.served_files("http://127.0.0.1:9/simple/", PROJECT)
