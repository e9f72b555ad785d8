"""The simple repository API, read: PEP 691 JSON first, else the PEP 503 HTML page.

What the engine needs of a project's page is, for each file, its name, its sha256 and
whether it is yanked. That is read here with ``json`` and ``html.parser`` rather than with
pypi-simple, which the engine used before: importing pypi-simple brings BeautifulSoup and
soupsieve, about a fifth of a second, paid by every ``inv release.status`` and every dry
run (issue #11 gives them 0.4 s and 0.5 s in all). The rules followed are the PEPs':

- the page is asked for with ``Accept`` preferring ``application/vnd.pypi.simple.v1+json``
  (PEP 691), then ``application/vnd.pypi.simple.v1+html`` and ``text/html``; a page without
  a ``Content-Type`` is HTML (PEP 503); any other type is not the simple API;
- the repository version (``meta.api-version`` in JSON, PEP 629's
  ``<meta name="pypi:repository-version">`` in HTML) must be 1.x when given (PEP 629 says a
  client refuses a major version it does not know; JSON always gives it);
- a file's URL is resolved against the page's; its name is the anchor's text (PEP 503), or
  ``filename`` in JSON; its sha256 is ``hashes.sha256`` (JSON) or the ``#sha256=`` fragment
  of the URL (HTML), kept only when it is 64 hex digits;
- yanked: ``"yanked": true`` or a reason string (PEP 691), a ``data-yanked`` attribute,
  empty or not (PEP 592).
"""

from __future__ import annotations

__all__ = ["ACCEPT", "NotSimpleAPI", "Package", "parse_page", "project_url"]

import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from packaging.utils import canonicalize_name

#: What a client of the simple API asks for, JSON preferred (PEP 691's own example).
ACCEPT = (
    "application/vnd.pypi.simple.v1+json, "
    "application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01"
)
_JSON = "application/vnd.pypi.simple.v1+json"
_HTML = ("text/html", "application/vnd.pypi.simple.v1+html")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class NotSimpleAPI(ValueError):
    """A page that is not a project page of the simple API, version 1."""


@dataclass(frozen=True)
class Package:
    """One file of a project page: its name, where it is, its sha256 ("" if not given)."""

    filename: str
    url: str
    sha256: str
    yanked: bool


def project_url(simple_url: str, project: str) -> str:
    """The page of *project* under the index root *simple_url* (its normalized name)."""
    return urljoin(simple_url.rstrip("/") + "/", canonicalize_name(project) + "/")


def parse_page(body: bytes, content_type: str, url: str) -> list[Package]:
    """The files of the project page *body*, served as *content_type* from *url*."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == _JSON:
        return _from_json(body, url)
    if kind in _HTML or not kind:
        return _from_html(body.decode("utf-8", errors="replace"), url)
    raise NotSimpleAPI(f"unsupported content type {kind!r}")


def _version_ok(version: object) -> None:
    major = str(version).split(".", 1)[0]
    if not major.isdigit() or int(major) != 1:
        raise NotSimpleAPI(f"repository version {version} (this client reads 1.x)")


def _sha256(value: object) -> str:
    return value.lower() if isinstance(value, str) and _SHA256.fullmatch(value) else ""


def _from_json(body: bytes, url: str) -> list[Package]:
    try:
        page: Any = json.loads(body)
    except ValueError as exc:
        raise NotSimpleAPI(f"the JSON page does not parse: {exc}") from None
    if not isinstance(page, dict) or not isinstance(page.get("meta"), dict):
        raise NotSimpleAPI("the JSON page has no meta")
    _version_ok(page["meta"].get("api-version"))
    files = page.get("files")
    if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
        raise NotSimpleAPI("the JSON page has no list of files")
    found = []
    for entry in files:
        name, link = entry.get("filename"), entry.get("url")
        if not isinstance(name, str) or not isinstance(link, str):
            raise NotSimpleAPI("a file of the JSON page has no filename or url")
        hashes = entry.get("hashes") if isinstance(entry.get("hashes"), dict) else {}
        yanked = entry.get("yanked", False)
        found.append(
            Package(
                name,
                urljoin(url, link),
                _sha256(hashes.get("sha256")),
                yanked is True or (isinstance(yanked, str) and bool(yanked)),
            )
        )
    return found


def _from_html(text: str, url: str) -> list[Package]:
    parser = _Anchors()
    parser.feed(text)
    parser.close()
    if parser.version is not None:
        _version_ok(parser.version)
    found = []
    for href, attributes, label in parser.anchors:
        link = urljoin(url, href)
        parts = urlsplit(link)
        name = label.strip() or unquote(parts.path.rsplit("/", 1)[-1])
        algorithm, _, digest = parts.fragment.partition("=")
        sha256 = _sha256(digest) if algorithm == "sha256" else ""
        found.append(Package(name, link.split("#", 1)[0], sha256, "data-yanked" in attributes))
    return found


class _Anchors(HTMLParser):
    """Every ``<a href>`` of a page (href, attributes, text), and the repository version."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[str, dict[str, str | None], str]] = []
        self.version: str | None = None
        self._open: tuple[str, dict[str, str | None], list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self._open = (str(found["href"]), found, [])
        elif tag == "meta" and found.get("name") == "pypi:repository-version":
            self.version = found.get("content") or ""

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open[2].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            href, attributes, text = self._open
            self.anchors.append((href, attributes, "".join(text)))
            self._open = None
