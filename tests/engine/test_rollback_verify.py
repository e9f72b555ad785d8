"""The rollback's last check: the release rolled back to is verified as ``inv release.verify``
does, its wheel installed and run; a file that does not verify is named in one line."""

from __future__ import annotations

import io

import pytest

from release_engine.engine import rollback
from release_engine.errors import VerificationError
from release_engine.output import ConsoleReporter
from release_engine.rehearsal import rehearsal_context
from release_engine.version import parse_version
from tests.engine.conftest import AFTER, VERSION, Rehearsal

pytestmark = pytest.mark.e2e


def _rollback(r: Rehearsal) -> str:
    out = io.StringIO()
    ctx = rehearsal_context(r.work, parse_version(AFTER), r.s)
    ctx.resume_command = f"inv rollback --version {AFTER}"
    rollback(ctx, ConsoleReporter(out))
    return out.getvalue()


def test_the_release_rolled_back_to_is_verified_and_a_changed_byte_is_reported(
    imageless_rehearsal: Rehearsal,
) -> None:
    r = imageless_rehearsal
    r.run(VERSION)
    r.add_fragment("+after.fixed.md", "Fixed what the next release fixes.")
    r.run(AFTER)

    # One byte of the release rolled back to, changed on the index: the rollback's steps are
    # done, and its last check names the file.
    sdist = r.s.index.packages / f"market_data_ingestion-{VERSION}.tar.gz"
    good = sdist.read_bytes()
    data = bytearray(good)
    data[len(data) // 2] ^= 0x01
    sdist.write_bytes(bytes(data))
    with pytest.raises(VerificationError, match=rf"^rolled back to v{VERSION}, but") as exc:
        _rollback(r)
    message = exc.value.message
    assert "\n" not in message and exc.value.exit_code == 1
    assert f"{sdist.name}: " in message
    assert f"inv release.verify --version {VERSION}" in message

    # The same bytes again: the rerun finds the rollback done and the target verified, its
    # wheel installed and run.
    sdist.write_bytes(good)
    said = _rollback(r)
    assert f"rolled back to v{VERSION}, verified: " in said
    assert f"ran market_data_ingestion-{VERSION}-py3-none-any.whl" in said
