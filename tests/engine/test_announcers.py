"""The announcers added as one module each (Discord, Mastodon, Microsoft Teams), against their
stand-ins, which answer as each service documents: each message within the service's limits,
each refusal one line without the secret, each reach probe firing on a wrong URL or token, and
the shared at-most-once protocol (:mod:`release_engine.remotes.announce`) through one of them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from release_engine.config import Credentials, ReleaseConfig
from release_engine.context import ReleaseContext
from release_engine.errors import ReleaseError
from release_engine.plan import Call, Status
from release_engine.remotes import Rehearsing
from release_engine.remotes.announce import Announce, Message, News, ReleaseLinks
from release_engine.remotes.discord import (
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBEDS_LIMIT,
    Discord,
    discord_message,
)
from release_engine.remotes.discord import post as discord_post
from release_engine.remotes.mastodon import (
    STATUS_LIMIT,
    TOKEN,
    Mastodon,
    check,
    mastodon_status,
    post_status,
)
from release_engine.remotes.teams import CARD, MESSAGE_LIMIT, Teams, teams_message
from release_engine.settings_schema import problem
from release_engine.standins.discord import DiscordStandIn, form_errors
from release_engine.standins.mastodon import MastodonStandIn, counted_length
from release_engine.standins.teams import TeamsStandIn, card_problem
from release_engine.tools.git import Git
from release_engine.tools.records import Records
from release_engine.version import parse_version
from tests.conftest import git
from tests.engine.conftest import VERSION, Rehearsal

LINKS = ReleaseLinks("https://gh.test/r/v1", "https://pypi.org/project/x/1.0/", "img:v1")
SHORT = Message("pkg 1.0 released", "### Added\n\n- A **new** adapter\n", LINKS)
#: Notes far longer than any of the services takes in one message.
LONG = Message(
    "pkg 1.0 released " + "t" * 300,
    "### Added\n\n" + "\n".join(f"- change {i} " + "x" * 90 for i in range(200)),
    LINKS,
)
DISCORD_ENV = "RELEASE_DISCORD_WEBHOOKS"
TEAMS_ENV = "RELEASE_TEAMS_WEBHOOKS"


class Told(News):
    """News with a fixed message: what is sent is not what these tests look at."""

    prefix, about = "", "release"

    def __init__(self, message: Message = SHORT) -> None:
        self.said = message

    def message(self, ctx: ReleaseContext) -> Message:
        return self.said


def one_line(error: BaseException, *secrets: str) -> str:
    text = str(error)
    assert "\n" not in text and all(s not in text for s in secrets), text
    return text


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A clone with a bare ``origin``: where the records of what was sent are written."""
    remote, work = tmp_path / "remote.git", tmp_path / "work"
    git(tmp_path, "init", "--quiet", "--bare", str(remote))
    git(tmp_path, "clone", "--quiet", str(remote), str(work))
    git(work, "-c", "user.email=t@localhost", "-c", "user.name=T", "commit", "--quiet",
        "--allow-empty", "-m", "start")  # fmt: skip
    return work


def context(repo: Path, env: dict[str, str], **settings: Any) -> ReleaseContext:
    config = ReleaseConfig("pkg", "0.1.0", **settings)
    return ReleaseContext(repo, parse_version("1.0.0"), config, Credentials.from_env(config, env))


# --- Discord --------------------------------------------------------------------------------
def test_discord_message_keeps_to_discords_limits_and_links_the_rest() -> None:
    body = discord_message(LONG)
    [embed] = body["embeds"]
    assert len(body["content"]) <= CONTENT_LIMIT and body["content"].endswith(LINKS.release)
    assert len(embed["title"]) == 256 and embed["url"] == LINKS.release
    description = embed["description"]
    assert len(description) <= DESCRIPTION_LIMIT
    assert description.startswith("**Added**\n\n- change 0 ")
    assert description.endswith(f"read the [full release notes]({LINKS.release}).*")
    size = len(embed["title"]) + len(description)
    size += sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
    assert size <= EMBEDS_LIMIT and form_errors(body) is None
    assert [f["value"] for f in embed["fields"]] == [LINKS.index, "`img:v1`"]
    assert body["allowed_mentions"] == {"parse": []}  # an @everyone in the notes pings nobody
    short = discord_message(SHORT)["embeds"][0]["description"]
    assert short == "**Added**\n\n- A **new** adapter"


def test_discord_stand_in_refuses_what_discord_refuses() -> None:
    fine = discord_message(SHORT)
    assert form_errors(fine) is None
    assert form_errors({"embeds": []})["code"] == 50006  # type: ignore[index]
    too_long = form_errors({**fine, "content": "x" * 2001})
    assert too_long is not None and too_long["errors"]["content"]["_errors"][0]["code"] == (
        "BASE_TYPE_MAX_LENGTH"
    )
    big = {"title": "t", "description": "d" * 4096}
    errors = form_errors({"embeds": [big, big]})["errors"]["embeds"]  # type: ignore[index]
    assert errors["_errors"][0]["code"] == "MAX_EMBED_SIZE_EXCEEDED"
    assert "embeds" in form_errors({"embeds": [{"title": "t"}] * 11})["errors"]  # type: ignore[index]
    with DiscordStandIn() as discord:
        bad = requests.post(discord.url, data=b"{", timeout=10)
        assert (bad.status_code, bad.json()["code"]) == (400, 50109)
        plain = requests.post(discord.url, json=fine, timeout=10)  # no ?wait=true: 204
        assert (plain.status_code, plain.content) == (204, b"")
        assert discord.received == [fine]


def test_discord_posts_once_and_each_refusal_is_one_line_without_the_webhook() -> None:
    with DiscordStandIn() as discord:
        ctx = context(Path("."), {DISCORD_ENV: discord.url})
        [to] = Discord().destinations(ctx)
        assert to.shown == "webhook 1" and discord.token not in to.key
        Discord().send(ctx, to, LONG)
        assert discord.received == [discord_message(LONG)]
        discord.fail_next(1, status=429)
        with pytest.raises(ReleaseError) as limited:
            Discord().send(ctx, to, SHORT)
        assert "429" in one_line(limited.value, discord.token) and "run again after" in str(
            limited.value
        )
        wrong = to.__class__(to.key, to.shown, f"{discord.base_url}/api/webhooks/1/guessed")
        with pytest.raises(ReleaseError) as unknown:
            Discord().send(ctx, wrong, SHORT)
        assert "404 Unknown Webhook" in one_line(unknown.value, "guessed")
        assert f"check ${DISCORD_ENV}" in str(unknown.value)
        long_content = {"content": "x" * (CONTENT_LIMIT + 1)}
        with pytest.raises(ReleaseError, match=r"400 Invalid Form Body \(content\)") as invalid:
            discord_post(to.address, long_content, f"${DISCORD_ENV}")
        one_line(invalid.value, discord.token)
        closed = discord.url
    assert len(discord.received) == 1
    with pytest.raises(ReleaseError, match="unreachable") as down:
        Discord().send(ctx, to.__class__(to.key, to.shown, closed), SHORT)
    one_line(down.value, discord.token)


def test_discord_probe_reads_the_webhook_and_fires_on_a_wrong_one() -> None:
    with DiscordStandIn() as discord:
        wrong = discord.url.replace(discord.token, "guessed-token")
        ctx = context(Path("."), {DISCORD_ENV: f"{discord.url} {wrong}"})
        probes = Discord().probes(ctx)
        assert list(probes) == ["discord webhook 1", "discord webhook 2"]
        assert probes["discord webhook 1"]() is None
        found = probes["discord webhook 2"]()
        assert found is not None and "404 Unknown Webhook" in found and DISCORD_ENV in found
        assert "guessed-token" not in found and discord.received == []  # nothing posted
    gone = probes["discord webhook 1"]()
    assert gone is not None and "unreachable" in gone and discord.token not in gone


def test_discord_settings_secret_required_channel_and_rehearsal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = ReleaseConfig("pkg", "0.1.0")
    assert config.discord_webhooks_env == DISCORD_ENV
    assert problem("required_channels", ["discord"]) is None
    assert problem("discord_webhooks_env", "not a name") is not None
    hook = "https://discord.com/api/webhooks/1/secret-token"
    creds = Credentials.from_env(config, {DISCORD_ENV: hook})
    assert creds.secrets().redact(f"posting to {hook}") == "posting to ***"
    assert Discord().lacking(config, creds) is None
    lacking = Discord().lacking(config, Credentials())
    assert lacking is not None and f"${DISCORD_ENV} holds no webhook URL" in lacking
    skipped = Announce(Discord(), Told()).observe(context(Path("."), {}))
    assert skipped.status is Status.SKIPPED and DISCORD_ENV in skipped.detail

    # A rehearsal posts to the stand-in where the release would post to Discord, nowhere else.
    monkeypatch.delenv(DISCORD_ENV, raising=False)
    stand_in = DiscordStandIn.__new__(DiscordStandIn)
    stand_in.base_url, stand_in.path = "http://127.0.0.1:9", "/api/webhooks/1/t"

    def rehearsed(config: ReleaseConfig) -> dict[str, str]:
        found = Rehearsing(Path("."), parse_version("1.0.0"), config, None)  # type: ignore[arg-type]
        Discord().rehearse(stand_in, found)
        return found.environment

    assert rehearsed(config) == {}
    required = config.with_overrides(required_channels=("discord",))
    assert rehearsed(required) == {DISCORD_ENV: stand_in.url}
    monkeypatch.setenv(DISCORD_ENV, hook)
    assert rehearsed(config) == {DISCORD_ENV: stand_in.url}


# --- Mastodon -------------------------------------------------------------------------------
def test_mastodon_status_fits_500_characters_and_keeps_the_link() -> None:
    status = mastodon_status(LONG)
    assert len(status) <= STATUS_LIMIT and counted_length(status) <= STATUS_LIMIT
    assert status.endswith(f"…\n\n{LINKS.release}")
    assert "\n\nAdded:\n\n- change 0 " in status  # the Markdown's marks dropped
    assert mastodon_status(SHORT) == (
        f"pkg 1.0 released\n\nAdded:\n\n- A new adapter\n\n{LINKS.release}"
    )
    no_link = Message("pkg 1.0 released", "x" * 900, ReleaseLinks())
    assert len(mastodon_status(no_link)) <= STATUS_LIMIT


def test_mastodon_stand_in_counts_and_refuses_as_mastodon_does() -> None:
    with MastodonStandIn() as server:
        bearer = {"Authorization": f"Bearer {server.token}"}
        statuses = f"{server.url}/api/v1/statuses"
        long_url = "https://example.test/" + "p" * 600  # counts 23
        ok = requests.post(statuses, data={"status": long_url}, headers=bearer, timeout=10)
        assert ok.status_code == 200 and ok.json()["visibility"] == "public"
        over = requests.post(statuses, json={"status": "x" * 501}, headers=bearer, timeout=10)
        assert over.status_code == 422 and "character limit of 500" in over.json()["error"]
        blank = requests.post(statuses, data={"status": " "}, headers=bearer, timeout=10)
        assert blank.status_code == 422
        anonymous = requests.post(statuses, data={"status": "hi"}, timeout=10)
        assert anonymous.status_code == 401
        assert [r["status"] for r in server.received] == [long_url]


def test_mastodon_posts_once_per_idempotency_key_and_refusals_are_one_line(repo: Path) -> None:
    with MastodonStandIn() as server:
        ctx = context(repo, {TOKEN: server.token}, mastodon_url=f"{server.url}/",
                      mastodon_visibility="unlisted")  # fmt: skip
        [to] = Mastodon().destinations(ctx)
        assert to.shown == f"127.0.0.1:{server.port}" and to.address == server.url
        Mastodon().send(ctx, to, LONG)
        Mastodon().send(ctx, to, LONG)  # a POST sent again, same key: Mastodon posts once
        [posted] = server.received
        assert posted == {"status": mastodon_status(LONG), "visibility": "unlisted",
                          "key": f"{to.key}-v1.0.0"}  # fmt: skip
        rollback = Message(LONG.subject, LONG.notes, LINKS, prefix="rollback-")
        Mastodon().send(ctx, to, rollback)  # the rollback's news is another post
        assert len(server.received) == 2
        with pytest.raises(ReleaseError) as bad:
            post_status(server.url, "guessed", "hi", visibility="public", key="k")
        assert "401" in one_line(bad.value, "guessed") and TOKEN in str(bad.value)
        server.fail_next(1, status=429)
        with pytest.raises(ReleaseError) as limited:
            post_status(server.url, server.token, "hi", visibility="public", key="k2")
        assert "rate limited" in one_line(limited.value, server.token)
        post_status(server.url, server.token, "hi", visibility="public", key="k2")
        assert len(server.received) == 3  # the failed POST posted nothing, its retry did
    with pytest.raises(ReleaseError, match=r"unreachable.*check mastodon_url") as down:
        post_status(server.url, server.token, "hi", visibility="public", key="k3")
    one_line(down.value, server.token)


def test_mastodon_probe_logs_in_and_fires_on_a_wrong_token_or_server() -> None:
    with MastodonStandIn() as server:
        good = context(Path("."), {TOKEN: server.token}, mastodon_url=server.url)
        assert list(Mastodon().probes(good)) == ["mastodon"]
        assert Mastodon().probes(good)["mastodon"]() is None
        wrong = check(server.url, "guessed")
        assert wrong is not None and "401" in wrong and TOKEN in wrong and "guessed" not in wrong
        elsewhere = check(f"{server.url}/not-mastodon", server.token)
        assert elsewhere is not None and "mastodon_url" in elsewhere
        assert server.received == []
    gone = check(server.url, server.token)
    assert gone is not None and "unreachable" in gone and server.token not in gone


def test_mastodon_settings_token_and_rehearsal() -> None:
    config = ReleaseConfig("pkg", "0.1.0")
    assert (config.mastodon_url, config.mastodon_visibility) == ("", "public")
    assert problem("mastodon_url", "mastodon.social") is not None  # not an http(s) URL
    assert problem("mastodon_visibility", "everyone") is not None
    assert problem("required_channels", ["mastodon"]) is None
    skipped = Announce(Mastodon(), Told()).observe(context(Path("."), {}))
    assert skipped.status is Status.SKIPPED and "mastodon_url" in skipped.detail
    posting = config.with_overrides(mastodon_url="https://mastodon.example")
    creds = Credentials.from_env(posting, {TOKEN: "tok-secret"})
    assert creds.secrets().redact("Bearer tok-secret") == "Bearer ***"
    assert creds.missing(posting) == [] and Mastodon().lacking(posting, creds) is None
    assert "MASTODON_ACCESS_TOKEN is not" in Credentials().missing(posting)[0]
    assert "mastodon_url is empty" in (Mastodon().lacking(config, creds) or "")
    assert TOKEN in (Mastodon().lacking(posting, Credentials()) or "")

    def rehearsed(config: ReleaseConfig) -> Rehearsing:
        found = Rehearsing(Path("."), parse_version("1.0.0"), config, None)  # type: ignore[arg-type]
        Mastodon().rehearse(stand_in, found)
        return found

    stand_in = MastodonStandIn.__new__(MastodonStandIn)
    stand_in.base_url, stand_in.token = "http://127.0.0.1:9", "t"
    assert rehearsed(config).settings == {} and rehearsed(config).environment == {}
    swapped = rehearsed(posting)
    assert (swapped.settings, swapped.environment) == ({"mastodon_url": stand_in.url}, {TOKEN: "t"})


# --- Microsoft Teams ------------------------------------------------------------------------
def test_teams_message_is_an_adaptive_card_within_28_kb_linking_the_release() -> None:
    body = teams_message(SHORT)
    assert body["type"] == "message" and card_problem(body) is None
    [attachment] = body["attachments"]
    assert attachment["contentType"] == CARD and attachment["contentUrl"] is None
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    title, notes, facts = card["body"]
    assert title["text"] == SHORT.subject and notes["text"] == "**Added**\n\n- A **new** adapter"
    assert facts["facts"] == [{"title": "Package index", "value": LINKS.index},
                              {"title": "Image", "value": "img:v1"}]  # fmt: skip
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "GitHub release",
                                "url": LINKS.release}]  # fmt: skip
    huge = Message(SHORT.subject, "- é ünïcode\n" * 9000, LINKS)  # escaped, it grows
    cut = teams_message(huge)
    assert len(json.dumps(cut).encode()) <= MESSAGE_LIMIT
    text = cut["attachments"][0]["content"]["body"][1]["text"]
    assert text.endswith(f"read the [full release notes]({LINKS.release}).*")


def test_teams_posts_once_and_each_refusal_is_one_line_without_the_webhook() -> None:
    with TeamsStandIn() as teams:
        ctx = context(Path("."), {TEAMS_ENV: teams.url})
        [to] = Teams().destinations(ctx)
        Teams().send(ctx, to, LONG)
        assert teams.received == [teams_message(LONG)]
        legacy: dict[str, Any] = {
            "type": "message",
            "attachments": [  # the retired connectors' card
                {"contentType": "application/vnd.microsoft.card.o365connector", "content": {}}
            ],
        }
        answer = requests.post(teams.url, json=legacy, timeout=10)
        assert answer.status_code == 400 and "Adaptive Card" in answer.json()["error"]["message"]
        big = requests.post(teams.url, data=b"x" * (MESSAGE_LIMIT + 1), timeout=10)
        assert big.status_code == 413
        teams.fail_next(1, status=429)
        with pytest.raises(ReleaseError) as limited:
            Teams().send(ctx, to, SHORT)
        assert "429" in one_line(limited.value, teams.signature, teams.flow)
        revoked = teams.url.replace(teams.signature, "guessed")
        with pytest.raises(ReleaseError) as wrong:
            Teams().send(ctx, to.__class__(to.key, to.shown, revoked), SHORT)
        assert "401" in one_line(wrong.value, teams.flow, "guessed") and TEAMS_ENV in str(
            wrong.value
        )
        assert len(teams.received) == 1
    with pytest.raises(ReleaseError, match="unreachable") as down:
        Teams().send(ctx, to, SHORT)
    one_line(down.value, teams.signature, teams.flow)


def test_teams_probe_fires_on_a_wrong_or_revoked_webhook_and_posts_nothing() -> None:
    with TeamsStandIn() as teams:
        revoked = teams.url.replace(teams.signature, "guessed")
        other = teams.url.replace(teams.flow, "0" * 32)
        ctx = context(Path("."), {TEAMS_ENV: f"{teams.url} {revoked} {other}"})
        probes = Teams().probes(ctx)
        assert probes["teams webhook 1"]() is None
        for name, status in (("teams webhook 2", "401"), ("teams webhook 3", "404")):
            found = probes[name]()
            assert found is not None and status in found and TEAMS_ENV in found
            assert "guessed" not in found and teams.flow not in found
        assert teams.received == []


def test_teams_settings_and_required_channel() -> None:
    config = ReleaseConfig("pkg", "0.1.0")
    assert config.teams_webhooks_env == TEAMS_ENV
    assert problem("required_channels", ["teams", "discord", "mastodon"]) is None
    lacking = Teams().lacking(config, Credentials())
    assert lacking is not None and f"${TEAMS_ENV} holds no webhook URL" in lacking
    creds = Credentials.from_env(config, {TEAMS_ENV: "https://x.test/workflows/1?sig=s3cret"})
    assert "s3cret" not in creds.secrets().redact("https://x.test/workflows/1?sig=s3cret")
    skipped = Announce(Teams(), Told()).observe(context(Path("."), {}))
    assert skipped.status is Status.SKIPPED and TEAMS_ENV in skipped.detail


# --- the at-most-once protocol, shared by every announcer -----------------------------------
def test_a_run_killed_between_the_pending_and_the_sent_mark_never_sends_twice(repo: Path) -> None:
    """The message went out, the run was killed before writing that it had: the next run, in
    any clone, finds the pending mark and sends nothing again (at most once)."""
    with DiscordStandIn() as discord:
        ctx = context(repo, {DISCORD_ENV: discord.url})
        step = Announce(Discord(), Told())
        assert step.observe(ctx).status is Status.PENDING
        pending, send, sent = step.actions(ctx)
        assert isinstance(send, Call) and "send the Discord message to <webhook 1>" in send.text
        assert discord.token not in pending.render() + send.render() + sent.render()
        pending.function()  # type: ignore[union-attr]
        send.function()
        # killed here: the sent mark is never written
        again = context(repo, {DISCORD_ENV: discord.url})
        seen = step.observe(again)
        assert seen.status is Status.DONE and "at most once" in seen.detail
        assert step.actions(again) == []
        assert len(discord.received) == 1
        [place] = Discord().destinations(ctx)
        records = Records(Git(repo), "origin", "v1.0.0")
        assert records.read("discord") == {"sent": [], "pending": place.key}


def test_a_refused_send_clears_its_mark_so_the_resume_sends_it(repo: Path) -> None:
    with DiscordStandIn() as discord:
        ctx = context(repo, {DISCORD_ENV: discord.url})
        step = Announce(Discord(), Told())
        discord.fail_next(1, status=503)
        with pytest.raises(ReleaseError, match="503"):
            step.act(ctx)
        assert discord.received == []
        again = context(repo, {DISCORD_ENV: discord.url})
        assert step.observe(again).status is Status.PENDING
        step.act(again)
        assert len(discord.received) == 1 and step.observe(again).status is Status.DONE


# --- a whole release ------------------------------------------------------------------------
@pytest.mark.e2e
def test_a_release_configured_for_all_three_posts_once_to_each_and_a_rerun_none(
    imageless_rehearsal: Rehearsal,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The project announces on Discord and Teams (their webhooks exported) and on Mastodon
    (its server in ``[tool.release]``): the rehearsal posts once to each stand-in instead, and
    a rerun finds every record on the remote and posts nothing again."""
    r, real = imageless_rehearsal, "real-webhook-secret"
    monkeypatch.setenv(DISCORD_ENV, f"https://discord.com/api/webhooks/1/{real}")
    monkeypatch.setenv(
        TEAMS_ENV, f"https://x.logic.azure.com/workflows/1/triggers/manual?sig={real}"
    )
    pyproject = r.work / "pyproject.toml"
    server = '[tool.release]\nmastodon_url = "https://mastodon.example"\n'
    pyproject.write_text(pyproject.read_text().replace("[tool.release]\n", server, 1))
    git(r.work, "commit", "-qam", "Announce releases on Mastodon")
    git(r.work, "push", "-q", "origin", "main")

    steps = {o.name: o.status for o in r.run().steps}
    assert [steps[n] for n in ("discord", "mastodon", "teams")] == ["acted"] * 3
    s = r.s
    [discord], [toot], [teams] = s.discord.received, s.mastodon.received, s.teams.received
    subject = f"market-data-ingestion {VERSION} released"
    assert discord["content"].startswith(f"{subject}: http") and form_errors(discord) is None
    assert toot["status"].startswith(subject) and counted_length(toot["status"]) <= 500
    assert toot["key"].endswith(f"-v{VERSION}") and toot["visibility"] == "public"
    card = teams["attachments"][0]["content"]
    assert card["body"][0]["text"] == subject and card_problem(teams) is None

    again = {o.name: (o.status, o.detail) for o in r.run().steps}
    assert again["discord"] == again["teams"] == ("done", "sent to 1 webhook")
    assert again["mastodon"] == ("done", "sent to 1 account")
    assert (len(s.discord.received), len(s.mastodon.received), len(s.teams.received)) == (1, 1, 1)
    out = capsys.readouterr().out
    assert all(secret not in out for secret in (real, s.discord.token, s.mastodon.token,
                                                s.teams.signature))  # fmt: skip
