"""``[tool.release]`` checked against one schema: the table, ``--set``, the published JSON
Schema (and validate-pyproject with it) and docs/RELEASING.md's settings table agree."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import fields
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from release_engine import settings_schema
from release_engine.config import ReleaseConfig, load_config, parse_overrides, tomllib
from release_engine.errors import MalformedConfigError, UsageError
from release_engine.settings_schema import SETTINGS, SPECS, check_table, json_schema, problem
from tests.conftest import REPO, git, make_repo

SCHEMA_FILE = REPO / "docs" / "tool-release.schema.json"
#: ReleaseConfig's fields read from the other tables, not from [tool.release].
FROM_OTHER_TABLES = {"current_version", "version_files", "changelog_file", "fragments_dir"}


def test_the_published_schema_is_the_one_in_the_code() -> None:
    assert SCHEMA_FILE.read_text() == settings_schema.schema_text(), (
        "regenerate it: python -m release_engine.settings_schema > docs/tool-release.schema.json"
    )
    jsonschema.Draft7Validator.check_schema(json_schema())


def test_every_setting_has_a_spec_and_every_spec_a_setting() -> None:
    assert set(SPECS) == {f.name for f in fields(ReleaseConfig)} - FROM_OTHER_TABLES


def test_the_project_s_own_table_passes() -> None:
    table = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["release"]
    assert check_table(table) is None
    jsonschema.validate(table, json_schema())


# (key, value, accepted): the engine and the JSON Schema must give the same verdict.
VALUES: list[tuple[str, Any, bool]] = [
    ("tag_prefix", "v", True), ("tag_prefix", "", True), ("tag_prefix", 1, False),
    ("tag_prefix", "v 1", False), ("main_branch", "main", True), ("main_branch", "-x", False),
    ("github_repository", "your-org/finbot", True), ("github_repository", "", True),
    ("github_repository", "nope", False), ("github_api_url", "https://api.github.com", True),
    ("github_api_url", "api.github.com", False), ("github_api_url", "", False),
    ("index_url", "", True), ("index_url", "ftp://x", False),
    ("index_simple_url", "http://127.0.0.1:9/simple/", True),
    ("image", "ghcr.io/your-org/market-data-ingestion", True), ("image", "x:latest", False),
    ("container_engine", "podman", True), ("container_engine", "rkt", False),
    ("registry_tls_verify", False, True), ("registry_tls_verify", "false", False),
    ("smtp_port", 587, True), ("smtp_port", 70000, False), ("smtp_port", True, False),
    ("smtp_port", "587", False), ("pull_request_timeout", 0, False),
    ("deploy_manifests", ["deploy/k8s/deployment.yaml"], True),
    ("deploy_manifests", "deploy/k8s/deployment.yaml", False),
    ("deploy_manifests", ["../outside.yaml"], False), ("deploy_manifests", ["/etc/x"], False),
    ("notify_webhooks_env", "RELEASE_NOTIFY_WEBHOOKS", True),
    ("notify_webhooks_env", "https://hooks.slack.com/x", False),
    ("email_to", ["people@example.com"], True), ("email_to", ["people"], False),
    ("email_from", "", True), ("email_from", "Release Bot <bot@example.com>", True),
    ("email_from", "bot <bot>", False), ("next_cycle", "weekly", False),
    ("merge", "pull-request", True),
    ("required_channels", ["notify", "email"], True), ("required_channels", ["slack"], False),
    ("docs_paths", ["docs/", "README.md"], True), ("docs_paths", [1], False),
]  # fmt: skip


@pytest.mark.parametrize(("key", "value", "accepted"), VALUES)
def test_the_engine_and_the_json_schema_agree(key: str, value: Any, accepted: bool) -> None:
    assert (problem(key, value) is None) == accepted, problem(key, value)
    valid = jsonschema.Draft7Validator(json_schema()).is_valid({key: value})
    assert valid == accepted


def write_table(repo: Path, edit: Any) -> None:
    path = repo / "pyproject.toml"
    path.write_text(edit(path.read_text()))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace('tag_prefix = "v"', "tag_prefix = 1"),
         "[tool.release] tag_prefix = 1: use a string"),
        (lambda t: t.replace('tag_prefix = "v"', 'tag_prefx = "v"'),
         "unknown setting 'tag_prefx' (did you mean 'tag_prefix'?)"),
        (lambda t: t.replace("[tool.release]", "[tool.relase]"),
         "[tool.relase], which nothing reads: did you mean [tool.release]?"),
        (lambda t: t.replace("[tool.release]", "[tool.releases]"), "did you mean [tool.release]?"),
        (lambda t: t.replace("[tool.towncrier]\n", "[tool.towncrie]\n"),
         "did you mean [tool.towncrier]?"),
        (lambda t: t.replace('container_engine = "auto"', 'container_engine = "rkt"'),
         'container_engine = \'rkt\': use "auto" or "podman" or "docker" or "buildah"'),
        (lambda t: t.replace('deploy_manifests = ["deploy', 'deploy_manifests = ["/deploy'),
         "use a path relative to the repository's top"),
        (lambda t: re.sub(r"\[tool\.release\]\n(.*\n)*?\n", "", t, count=1),
         "has no [tool.release] table"),
    ],
)  # fmt: skip
def test_a_malformed_table_is_one_line_with_exit_code_2(
    tmp_path: Path, edit: Any, message: str
) -> None:
    shutil.copy2(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    write_table(tmp_path, edit)
    with pytest.raises(MalformedConfigError) as caught:
        load_config(tmp_path)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("github_repository=nope", "github_repository = 'nope': use owner/name"),
        ("tag_prefx=v", "use KEY=VALUE (did you mean 'tag_prefix'?)"),
        ("deploy_manifests=../x.yaml", "use a path relative to the repository's top"),
        ("required_channels=slack", 'use "notify" or "email"'),
        ("notify_webhooks_env=https://hooks.slack.com/services/x", "environment variable"),
        ("package=other", "use KEY=VALUE"),  # the project's name is not a place to go
    ],
)
def test_set_is_judged_by_the_same_schema(pair: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_overrides([pair])
    assert message in str(caught.value) and caught.value.exit_code == 2


def test_set_values_are_typed_as_the_table_holds_them() -> None:
    assert parse_overrides(["docs_paths=docs/,README.md", "required_channels="]) == {
        "docs_paths": ("docs/", "README.md"),
        "required_channels": (),
    }


def test_a_renamed_key_is_refused_with_its_new_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(settings_schema.RENAMED, "prefix", "tag_prefix")
    said = check_table({"prefix": "v"})
    assert said == "[tool.release] prefix was renamed: write tag_prefix = 'v'"
    with pytest.raises(UsageError, match="--set prefix was renamed: use --set tag_prefix=v"):
        parse_overrides(["prefix=v"])
    assert json_schema()["properties"]["prefix"]["description"] == "renamed: use tag_prefix"


def test_a_pyproject_without_towncrier_s_table_is_refused_before_anything_changes(
    tmp_path: Path,
) -> None:
    """Its [[tool.towncrier.type]] left alone, towncrier's defaults (newsfragments/, NEWS.rst)
    made a release that stopped at the changelog, leaving a branch and an untracked NEWS.rst."""
    repo = make_repo(tmp_path / "repo")
    text = (repo / "pyproject.toml").read_text()
    start, end = text.index("[tool.towncrier]\n"), text.index("[[tool.towncrier.type]]")
    (repo / "pyproject.toml").write_text(text[:start] + text[end:])
    git(repo, "commit", "-qam", "no [tool.towncrier] table")
    before = git(repo, "show-ref"), git(repo, "status", "--porcelain")
    proc = subprocess.run(
        ["inv", "release", "--version", "9.0.0", "--allow-empty", "--set", "image="],
        cwd=repo, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "error: pyproject.toml has no [tool.towncrier] table with directory and filename: add it "
        '(directory = "changelog.d", filename = "CHANGELOG.md"; see README.md)'
    ]
    assert (git(repo, "show-ref"), git(repo, "status", "--porcelain")) == before
    assert not (repo / "NEWS.rst").exists()


def docs_table() -> dict[str, tuple[str, str]]:
    """docs/RELEASING.md's settings table: key -> (default, meaning)."""
    text = (REPO / "docs" / "RELEASING.md").read_text()
    section = text[text.index("## Configuration") : text.index("### Credentials")]
    rows = re.findall(r"^\| `(\w+)` \| (.+?) \| (.+) \|$", section, re.M)
    return {key: (default, meaning) for key, default, meaning in rows}


def test_the_docs_settings_table_is_the_schema() -> None:
    documented = docs_table()
    assert set(documented) == set(SPECS)
    defaults = {f.name: f.default for f in fields(ReleaseConfig)}
    for key, (default, _) in documented.items():
        if key == "package":
            continue
        expected = defaults[key]
        shown = json.loads(default.strip("`"))
        assert shown == (list(expected) if isinstance(expected, tuple) else expected), key


def test_the_docs_say_which_settings_set_cannot_change() -> None:
    text = (REPO / "docs" / "RELEASING.md").read_text()
    said = re.search(r"Every setting but (.+?) can be given with `--set`", text)
    assert said is not None
    assert set(re.findall(r"`(\w+)`", said.group(1))) == set(SPECS) - set(SETTINGS)


def test_validate_pyproject_with_the_schema_catches_a_typo(tmp_path: Path) -> None:
    argv = ["validate-pyproject", "--tool", f"release={SCHEMA_FILE}"]
    ok = subprocess.run([*argv, str(REPO / "pyproject.toml")], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    bad = tmp_path / "pyproject.toml"
    bad.write_text((REPO / "pyproject.toml").read_text().replace("tag_prefix =", "tag_prefx ="))
    caught = subprocess.run([*argv, str(bad)], capture_output=True, text=True)
    assert caught.returncode != 0 and "tag_prefx" in caught.stdout + caught.stderr
