"""Version rules: parsing, PEP 440 mapping, ordering and who gets ``latest``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.version import Version as PackagingVersion

from release_engine.errors import UsageError
from release_engine.version import (
    MAX_NUMBER,
    Version,
    is_newest_stable,
    newest_of_line,
    parse_version,
    versions_from_tags,
)


@pytest.mark.parametrize(
    ("text", "pep440"),
    [
        ("1.2.3", "1.2.3"),
        ("0.0.0", "0.0.0"),
        ("1.3.0rc1", "1.3.0rc1"),
        ("1.3.0-rc.1", "1.3.0rc1"),
        ("2.0.0-beta.2", "2.0.0b2"),
        ("2.0.0a0", "2.0.0a0"),
    ],
)
def test_valid_versions_map_to_pep440(text: str, pep440: str) -> None:
    assert parse_version(text).pep440 == pep440


@pytest.mark.parametrize(
    "text",
    [
        "1.2",
        "1.2.3.4",
        "v1.2.3",
        "01.2.3",
        "1.2.3-foo",
        "1.2.3.dev1",
        "",
        "latest",
        "1.2.3rc",
        "1.2.3\n4",
        "1.2.3\n",
        " 1.2.3",  # released v1.2.3 once: nothing is stripped
        "1.2.3 ",
        "\t1.2.3",
        "1.2.1\u0663",  # an Arabic-Indic three: released v1.2.13 once (\\d and int())
        "1\u0662.0.0",  # released v12.0.0 once
        "\uff11.2.3",  # a fullwidth one
        "1.2.3rc\u0661",
        "1.2.3;rm -rf /",
        "$(id).2.3",
        "9007199254740992.0.0",  # past 2**53 - 1: tools disagree on such numbers
        "1." + "9" * 30 + ".0",
        "1.2." + "9" * 5000,  # past Python's own int() limit of digits
        "1.0.0rc" + "9" * 20,
    ],
)
def test_malformed_versions_are_refused_with_one_line(text: str) -> None:
    with pytest.raises(UsageError) as exc:
        parse_version(text)
    message = str(exc.value)
    assert "\n" not in message
    assert "MAJOR.MINOR.PATCH" in message


def test_the_largest_number_is_a_version() -> None:
    assert parse_version(f"{MAX_NUMBER}.0.0").major == 2**53 - 1


def test_prereleases_sort_before_their_release() -> None:
    order = ["1.0.0a1", "1.0.0b1", "1.0.0rc1", "1.0.0rc2", "1.0.0", "1.0.1", "1.1.0rc1", "1.1.0"]
    parsed = [parse_version(v) for v in order]
    assert sorted(reversed(parsed)) == parsed


versions = st.builds(
    Version,
    st.integers(0, 30),
    st.integers(0, 30),
    st.integers(0, 30),
    st.one_of(st.none(), st.tuples(st.sampled_from(["a", "b", "rc"]), st.integers(0, 9))),
)


#: Versions as the version files may also carry them: a release or a development version.
current_versions = st.one_of(
    versions,
    st.builds(
        Version, st.integers(0, 30), st.integers(0, 30), st.integers(0, 30), st.none(),
        st.integers(0, 9),
    ),
)  # fmt: skip


@given(current_versions, current_versions)
def test_the_order_is_pep_440_s(a: Version, b: Version) -> None:
    """The engine orders versions without ``packaging`` (a tuple each), as ``packaging`` does."""
    assert (a < b) == (PackagingVersion(a.pep440) < PackagingVersion(b.pep440))
    assert (a == b) == (PackagingVersion(a.pep440) == PackagingVersion(b.pep440))


@given(versions)
def test_pep440_spelling_round_trips(version: Version) -> None:
    assert parse_version(version.pep440) == version


@given(versions, st.lists(versions, max_size=8))
def test_latest_goes_only_to_a_stable_version_newer_than_every_stable_one(
    version: Version, existing: list[Version]
) -> None:
    newest = is_newest_stable(version, existing)
    stable = [v for v in existing if not v.is_prerelease]
    assert newest == (not version.is_prerelease and all(version >= v for v in stable))


def test_a_hotfix_of_an_old_line_never_takes_latest() -> None:
    existing = [parse_version(v) for v in ("1.2.3", "1.3.0")]
    assert not is_newest_stable(parse_version("1.2.4"), existing)
    assert is_newest_stable(parse_version("1.3.1"), existing)
    assert not is_newest_stable(parse_version("1.4.0rc1"), existing)


def test_tags_that_are_not_versions_are_ignored() -> None:
    tags = ["v1.0.0", "rollback-v1.0.0", "v1.1.0rc1", "nightly", "v2"]
    assert [v.pep440 for v in versions_from_tags(tags)] == ["1.0.0", "1.1.0rc1"]


def test_newest_of_line_looks_at_major_minor_only() -> None:
    existing = [parse_version(v) for v in ("1.2.3", "1.2.9", "1.3.0")]
    assert newest_of_line(parse_version("1.2.4"), existing) == parse_version("1.2.9")
    assert newest_of_line(parse_version("2.0.0"), existing) is None


@given(st.lists(st.from_regex(r"v[0-9]{1,17}\.[0-9]{1,3}\.[0-9]{1,3}(rc[0-9])?", fullmatch=True)))
def test_the_versions_of_many_tags_are_parse_versions_own(tags: list[str]) -> None:
    """Reading a thousand tags takes a shortcut for plain MAJOR.MINOR.PATCH: the same
    versions as parse_version gives one by one (leading zeros, numbers too big: none)."""
    one_by_one = set()
    for tag in tags:
        try:
            one_by_one.add(parse_version(tag[1:]))
        except UsageError:
            continue
    assert versions_from_tags(tags) == sorted(one_by_one)
