"""Telling people: the Slack message, the release notes email, and their guards."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from release_engine.config import Credentials, ReleaseConfig, parse_overrides
from release_engine.context import ReleaseContext
from release_engine.engine import release
from release_engine.errors import ConfigError, ReleaseError, UsageError
from release_engine.output import ConsoleReporter
from release_engine.plan import Status
from release_engine.rehearsal import rehearsal_context
from release_engine.remotes import mail
from release_engine.remotes.announce import (
    Announce,
    ReleaseLinks,
    ReleaseNews,
    destination_key,
    release_links,
)
from release_engine.remotes.slack import (
    BLOCK_LIMIT,
    SECTION_LIMIT,
    post_message,
    slack_blocks,
    slack_message,
    to_mrkdwn,
)
from release_engine.standins._server import free_port
from release_engine.standins.sink import NotificationSink
from release_engine.standins.smtp import SmtpStandIn
from release_engine.tools.git import Git
from release_engine.tools.records import Records
from release_engine.version import parse_version
from tests.conftest import git
from tests.engine.conftest import MAIL_TO, VERSION, Rehearsal, configure_mail, published_state

NOTES = "### Added\n\n- A **new** adapter ([#12](https://example.test/12)) & more <b>\n"
LINKS = ReleaseLinks("https://gh.test/r/v1", "https://pypi.org/project/x/1.0/", "img:v1")


class Interrupted(Exception):
    pass


# --- Slack ----------------------------------------------------------------------------------
def test_notes_become_mrkdwn() -> None:
    assert to_mrkdwn(NOTES) == (
        "*Added*\n\n• A *new* adapter (<https://example.test/12|#12>) &amp; more &lt;b&gt;"
    )


def test_message_has_header_sections_links_and_a_text_fallback() -> None:
    message = slack_message("pkg 1.0 released", NOTES, LINKS)
    assert message["text"] == "pkg 1.0 released. https://gh.test/r/v1"
    header, notes, links = message["blocks"]
    assert header["type"] == "header" and header["text"]["text"] == "pkg 1.0 released"
    assert notes["type"] == "section" and notes["text"]["type"] == "mrkdwn"
    assert "• A *new* adapter" in notes["text"]["text"]
    assert links["text"]["text"] == (
        "<https://gh.test/r/v1|GitHub release> · "
        "<https://pypi.org/project/x/1.0/|Package index> · Image `img:v1`"
    )


def test_long_notes_are_split_within_slacks_limits() -> None:
    notes = "\n".join(f"- change {i} " + "x" * 90 for i in range(100)) + "\n" + "y" * 7000
    blocks = [b.to_dict() for b in slack_blocks("t", notes, LINKS)]
    texts = [b["text"]["text"] for b in blocks[1:-1]]
    assert all(len(t) <= SECTION_LIMIT for t in texts) and len(texts) > 3
    assert "".join(texts).replace("\n", "") == to_mrkdwn(notes).replace("\n", "")  # all kept
    assert "full release notes" not in blocks[-2]["text"]["text"]


@pytest.mark.parametrize(
    ("links", "more"),
    [(LINKS, "<https://gh.test/r/v1|full release notes>"), (ReleaseLinks(), "the CHANGELOG")],
)
def test_notes_beyond_fifty_blocks_end_in_a_link_to_the_full_notes(
    links: ReleaseLinks, more: str
) -> None:
    notes = "\n".join("z" * 2999 for _ in range(60))
    blocks = [b.to_dict() for b in slack_blocks("t", notes, links)]
    assert len(blocks) == BLOCK_LIMIT
    shown = blocks[-2] if links.release else blocks[-1]
    assert more in shown["text"]["text"]


def test_post_message_sends_the_json_body_once_and_fails_in_one_line() -> None:
    with NotificationSink() as sink:
        message = slack_message("pkg 1.0 released", NOTES, LINKS)
        post_message(sink.url, message)
        assert [r.body for r in sink.received] == [message]
        sink.fail_next(1, status=500)
        with pytest.raises(ReleaseError) as refused:
            post_message(sink.url, message)
        closed = sink.url
    assert len(sink.received) == 1
    text = str(refused.value)
    assert "answered 500" in text and "\n" not in text and sink.path not in text
    with pytest.raises(ReleaseError, match="could not reach the webhook") as unreachable:
        post_message(closed, message, timeout=5)
    assert sink.path not in str(unreachable.value)


def test_index_link_is_pypis_project_page_or_the_simple_page(tmp_path: Path) -> None:
    config = ReleaseConfig("Market_Data", "0.1.0", index_simple_url="https://pypi.org/simple/")
    ctx = ReleaseContext(tmp_path, parse_version("1.2.0"), config, Credentials())
    assert release_links(ctx).index == "https://pypi.org/project/market-data/1.2.0/"
    ctx.config = config.with_overrides(index_simple_url="http://127.0.0.1:9/simple/")
    assert release_links(ctx) == ReleaseLinks("", "http://127.0.0.1:9/simple/market-data/", "")


# --- email ----------------------------------------------------------------------------------
def _parts(message: EmailMessage) -> tuple[str, str]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    # what went through SMTP has CRLF line ends
    return text.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


def test_compose_gives_a_text_and_an_html_part() -> None:
    message = mail.compose(
        title="pkg 1.0 released", notes=NOTES, sender="a@x.test", recipients=("b@x.test",)
    )
    text, html = _parts(message)
    assert NOTES.strip() in text
    assert "<h3>Added</h3>" in html and "<strong>new</strong>" in html and "&amp; more" in html
    assert message["To"] == "b@x.test" and message["Subject"] == "pkg 1.0 released"


def test_send_uses_starttls_and_the_login() -> None:
    message = mail.compose(title="t", notes=NOTES, sender="a@x.test", recipients=("b@x.test",))
    with SmtpStandIn(starttls=True) as smtp:
        trusted = smtp.client_context()
        server = mail.SmtpServer("127.0.0.1", smtp.port, True, smtp.username, smtp.password)
        with pytest.raises(ReleaseError, match=r"could not send .*CERTIFICATE_VERIFY_FAILED"):
            mail.send(message, server)  # the system's CAs do not trust a self-signed cert
        wrong = mail.SmtpServer("127.0.0.1", smtp.port, True, smtp.username, "guessed", trusted)
        with pytest.raises(ReleaseError, match="refused the login") as refused:
            mail.send(message, wrong)
        assert "guessed" not in str(refused.value)
        good = mail.SmtpServer("127.0.0.1", smtp.port, True, smtp.username, smtp.password, trusted)
        assert mail.send(message, good) == []
        [got] = smtp.delivered
    assert (got.encrypted, got.login, got.rcpt_tos) == (True, "release", ("b@x.test",))
    assert _parts(got.message) == _parts(message)


def test_send_without_tls_offered_or_without_login_is_refused() -> None:
    message = mail.compose(title="t", notes=NOTES, sender="a@x.test", recipients=("b@x.test",))
    with SmtpStandIn() as smtp:
        with pytest.raises(ReleaseError, match=r"does not support .*smtp_starttls"):
            mail.send(message, mail.SmtpServer("127.0.0.1", smtp.port, True))
        with pytest.raises(ReleaseError, match=r"could not send .*Authentication required"):
            mail.send(message, mail.SmtpServer("127.0.0.1", smtp.port, False))
        assert smtp.delivered == []
    with pytest.raises(ReleaseError, match="could not send"):
        mail.send(message, mail.SmtpServer("127.0.0.1", free_port(), False), timeout=5)


# --- settings -------------------------------------------------------------------------------
def test_email_settings_their_credentials_and_their_guards() -> None:
    config = ReleaseConfig("pkg", "0.1.0")
    assert (config.smtp_host, config.smtp_port, config.smtp_starttls) == ("", 587, True)
    assert config.next_cycle == "none"
    assert parse_overrides(["smtp_port=2525", "email_to=a@x.test,b@x.test"]) == {
        "smtp_port": 2525,
        "email_to": ("a@x.test", "b@x.test"),
    }
    with pytest.raises(UsageError, match="whole number"):
        parse_overrides(["smtp_port=smtp"])
    with pytest.raises(ConfigError, match="TCP port"):
        config.with_overrides(smtp_port=70000)
    assert config.with_overrides(next_cycle="dev").next_cycle == "dev"
    with pytest.raises(ConfigError, match='"none"'):
        config.with_overrides(next_cycle="weekly")
    creds = Credentials.from_env(config, {"SMTP_USERNAME": "u", "SMTP_PASSWORD": "pw-secret"})
    assert creds.secrets().redact("login u pw-secret") == "login u ***"
    assert creds.missing(config) == []
    mailing = config.with_overrides(smtp_host="mail.x.test")
    assert creds.missing(mailing) == [
        "smtp_host is set but email_from or email_to is empty: set both in [tool.release]"
    ]
    half = Credentials.from_env(config, {"SMTP_USERNAME": "u"})
    assert half.missing(config) == ["set both SMTP_USERNAME and SMTP_PASSWORD, or neither"]


def test_email_is_skipped_when_nothing_is_configured(tmp_path: Path) -> None:
    ctx = ReleaseContext(
        tmp_path, parse_version("1.0.0"), ReleaseConfig("pkg", "0.1.0"), Credentials()
    )
    assert Announce(mail.Mail(), ReleaseNews()).observe(ctx).status is Status.SKIPPED


# --- a whole release ------------------------------------------------------------------------
def _state(r: Rehearsal) -> Path:
    return r.work / ".git" / "release" / f"v{VERSION}"


@pytest.mark.e2e
def test_release_sends_one_slack_message_and_one_email_and_a_rerun_none(
    rehearsal: Rehearsal, capsys: pytest.CaptureFixture[str]
) -> None:
    """Previewed, sent once; a rerun, in this clone or in another one, sends nothing again."""
    s = rehearsal.s
    assert s.mail is not None
    configure_mail(rehearsal)
    rehearsal.add_fragment("+mail.added.md", "Added `inv release --version X.Y.Z`, end to end.")
    dry = rehearsal.run(dry_run=True)
    shown = {o.name: o.commands for o in dry.steps}
    record = f"origin <record commit>:refs/release/records/v{VERSION}/email"
    key = destination_key(f"127.0.0.1:{s.mail.port} {[MAIL_TO]}")
    assert shown["email"] == [
        f"write the email to .git/release/v{VERSION}/release-notes.eml",
        f"git push --force-with-lease=refs/release/records/v{VERSION}/email:<the record read> "
        f'{record} (record {{"pending": "{key}", "sent": []}})',
        f"send the email to <1 recipient via 127.0.0.1:{s.mail.port}>: release",
        f"git push --force-with-lease=refs/release/records/v{VERSION}/email:<the record read> "
        f'{record} (record {{"pending": null, "sent": ["{key}"]}})',
    ]
    assert s.mail.delivered == [] and not (_state(rehearsal) / "release-notes.eml").exists()

    rehearsal.run()
    state = published_state(rehearsal)
    section = str(state["section"])
    assert (state["notifications"], state["emails"]) == (1, 1)
    [got] = s.mail.delivered
    text, html = _parts(got.message)
    assert section.strip() in text
    assert "<h3>Added</h3>" in html and "inv release --version X.Y.Z" in html
    assert got.login == s.mail.username and got.rcpt_tos == (MAIL_TO,)
    written = (_state(rehearsal) / "release-notes.eml").read_bytes()
    assert got.message["Message-ID"] in written.decode()
    body = s.slack.received[0].body
    assert body["text"].startswith(f"market-data-ingestion {VERSION} released. http")
    blocks = body["blocks"]
    assert blocks[0]["text"]["text"] == f"market-data-ingestion {VERSION} released"
    assert "*Added*" in blocks[1]["text"]["text"]
    assert (
        f"<{s.index.simple_url.rstrip('/')}/market-data-ingestion/|" in blocks[-1]["text"]["text"]
    )

    again = rehearsal.run()
    assert {o.name: o.status for o in again.steps}["email"] == "done"
    assert published_state(rehearsal) == state  # no second message, no second email

    # The records of what was sent live on the remote: a second clone (another machine, a
    # CI re-run) finds them there and sends no second message, no second email.
    assert (len(s.slack.received), len(s.mail.delivered)) == (1, 1)
    other = rehearsal.work.parent / "another-clone"
    git(rehearsal.work.parent, "clone", "--quiet", str(rehearsal.remote), str(other))
    assert not (other / ".git" / "release").exists()  # nothing of the first clone's state
    report = Rehearsal(other, rehearsal.remote, s).run()
    steps = {o.name: (o.status, o.detail) for o in report.steps}
    assert steps["notify"] == ("done", "sent to 1 webhook")
    assert steps["email"][0] == "done"
    assert (len(s.slack.received), len(s.mail.delivered)) == (1, 1)
    assert s.mail.password not in capsys.readouterr().out


@pytest.mark.e2e
def test_a_failed_send_is_retried_on_resume_and_without_smtp_host_only_written(
    rehearsal: Rehearsal,
) -> None:
    def stop(name: str) -> None:
        if name == "notify":
            raise Interrupted(name)

    s = rehearsal.s
    assert s.mail is not None
    configure_mail(rehearsal)
    with pytest.raises(Interrupted):
        rehearsal.run(after_step=stop)
    version = parse_version(VERSION)
    ctx = rehearsal_context(rehearsal.work, version, s)

    class MailServerGoes(ConsoleReporter):
        """The preflight reached the mail server; it is gone when the email is sent."""

        def info(self, message: str) -> None:
            super().info(message)
            if message.startswith("resuming:"):  # preflight's notes: it is over
                ctx.config = ctx.config.with_overrides(smtp_port=free_port())  # none there

    with pytest.raises(ReleaseError, match="could not send the release notes") as failed:
        release(ctx, MailServerGoes(secrets=ctx.secrets))
    assert failed.value.step == "email" and s.mail.password not in str(failed.value)
    record = Records(Git(rehearsal.work), "origin", f"v{VERSION}").read("email")
    assert record == {"sent": [], "pending": None}  # delivered to no one: resuming sends it

    ctx = rehearsal_context(rehearsal.work, version, s)
    ctx.config = ctx.config.with_overrides(smtp_host="")
    report = release(ctx, ConsoleReporter())
    email = next(o for o in report.steps if o.name == "email")
    assert email.status == "done" and "not sent" in email.detail
    assert (_state(rehearsal) / "release-notes.eml").exists() and s.mail.delivered == []

    report = rehearsal.run()  # smtp_host is set again: now it is sent, once
    assert {o.name: o.status for o in report.steps}["email"] == "acted"
    assert len(s.mail.delivered) == 1


@pytest.mark.e2e
def test_a_pending_record_is_reported_sent_at_most_once_and_not_resent(
    rehearsal: Rehearsal,
) -> None:
    """What a run killed between marking a send and its answer leaves, for the webhook and
    for the email (one release for both): each is reported sent at most once, never again."""

    def stop(name: str) -> None:
        if name == "push":
            raise Interrupted(name)

    configure_mail(rehearsal)
    with pytest.raises(Interrupted):
        rehearsal.run(after_step=stop)
    # A run killed while sending left its mark on the remote, where every clone looks.
    records = Records(Git(rehearsal.work), "origin", f"v{VERSION}")
    key = destination_key(rehearsal.s.slack.url)
    records.write("notify", {"sent": [], "pending": key})
    records.write("email", {"status": "pending"})  # as an earlier version recorded an email
    report = rehearsal.run()
    notify = next(o for o in report.steps if o.name == "notify")
    assert notify.status == "done" and "at most once" in notify.detail
    assert rehearsal.s.slack.received == []
    email = next(o for o in report.steps if o.name == "email")
    assert email.status == "done" and "at most once" in email.detail
    assert rehearsal.s.mail is not None and rehearsal.s.mail.delivered == []
