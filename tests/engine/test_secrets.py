"""Secrets never appear in any output: normal, verbose, dry run, JSON, errors."""

from __future__ import annotations

import base64
import io
import json
import logging
from dataclasses import replace

import pytest

from release_engine.context import Options
from release_engine.engine import release
from release_engine.errors import CommandError, ReleaseError
from release_engine.output import ConsoleReporter, emit_json, print_report, print_steps
from release_engine.proc import run
from release_engine.redact import MASK, Secrets
from release_engine.rehearsal import rehearsal_context
from release_engine.version import parse_version
from tests.engine.conftest import AFTER, VERSION, Rehearsal


def test_secrets_and_url_passwords_are_masked() -> None:
    secrets = Secrets(
        ["s3cr3t-token-value", "https://hooks.example/services/T000/B000/XXXXXXXXXXXX"]
    )
    text = secrets.redact(
        "token s3cr3t-token-value; https://user:pa55w0rd@index.example/simple/; "
        "hook https://hooks.example/services/T000/B000/XXXXXXXXXXXX and again XXXXXXXXXXXX"
    )
    assert "s3cr3t-token-value" not in text
    assert "pa55w0rd" not in text
    assert "XXXXXXXXXXXX" not in text
    assert f"https://user:{MASK}@index.example" in text


def test_two_runs_never_share_secrets() -> None:
    first, second = Secrets(["first-run-token"]), Secrets()
    assert first.redact("first-run-token") == MASK
    assert second.redact("first-run-token") == "first-run-token"


def test_basic_auth_pairs_are_masked_in_their_encoded_form() -> None:
    secrets = Secrets()
    secrets.add_basic("release-bot", "pa55w0rd-pa55")
    encoded = base64.b64encode(b"release-bot:pa55w0rd-pa55").decode()
    assert secrets.redact(f"Authorization: Basic {encoded}") == f"Authorization: Basic {MASK}"


def test_a_failed_command_never_shows_a_secret_it_was_given() -> None:
    secrets = Secrets(["hunter2-hunter2"])
    with pytest.raises(CommandError) as exc:
        run(["sh", "-c", "echo using hunter2-hunter2 >&2; exit 3", "hunter2-hunter2"])
    shown = secrets.redact(str(exc.value))
    assert "hunter2-hunter2" not in shown
    assert MASK in shown


def test_log_records_are_masked_only_while_the_run_masks_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secrets = Secrets(["ghp_0123456789abcdef"])
    caplog.set_level(logging.DEBUG)
    with secrets.masking_logs():
        logging.getLogger("urllib3.connectionpool").debug("sent ghp_0123456789abcdef")
        run(["true", "ghp_0123456789abcdef"])  # the engine logs every command it runs
    assert "ghp_0123456789abcdef" not in caplog.text
    assert caplog.text.count(MASK) == 2


@pytest.mark.e2e
def test_no_secret_in_any_output_of_a_whole_rehearsal(
    rehearsal: Rehearsal,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    s = rehearsal.s
    secrets = [s.github.token, s.index.password, s.slack.url, s.slack.url.rsplit("/", 1)[-1]]
    if s.registry is not None:
        secrets.append(s.registry.password)
    caplog.set_level(logging.DEBUG)  # verbose: every command, the GitHub client's, urllib3's
    ctx = rehearsal_context(rehearsal.work, parse_version(VERSION), s, options=Options())
    dry = release(ctx, ConsoleReporter(secrets=ctx.secrets), dry_run=True)
    ctx = rehearsal_context(rehearsal.work, parse_version(VERSION), s)
    report = release(ctx, ConsoleReporter(secrets=ctx.secrets))
    buffer = io.StringIO()
    emit_json(report.as_dict(), buffer, secrets=ctx.secrets)
    print_report(report, buffer, secrets=ctx.secrets)
    print_steps(report.steps + dry.steps, "all", buffer, secrets=ctx.secrets)
    # An error path too: a wrong token makes GitHub answer 401 during preflight.
    bad = rehearsal_context(rehearsal.work, parse_version(AFTER), s)
    bad.credentials = replace(
        bad.credentials,
        values={**bad.credentials.values, "GITHUB_TOKEN": "ghp_wrongwrongwrongwrong"},
    )
    from release_engine.remotes.github.client import GitHubClient

    bad.github = GitHubClient(s.github.url, s.github.repository, "ghp_wrongwrongwrongwrong")
    bad.secrets.add("ghp_wrongwrongwrongwrong")
    with pytest.raises(ReleaseError) as exc:
        release(bad, ConsoleReporter(secrets=bad.secrets))
    captured = capsys.readouterr()
    everything = "\n".join(
        [
            captured.out,
            captured.err,
            caplog.text,
            buffer.getvalue(),
            bad.secrets.redact(str(exc.value)),
            json.dumps(report.as_dict(), default=str),
        ]
    )
    assert "401" in str(exc.value) or "Bad credentials" in str(exc.value)
    assert "would run" in everything and "-m twine --no-color upload" in everything
    for secret in [*secrets, "ghp_wrongwrongwrongwrong"]:
        assert secret not in everything
