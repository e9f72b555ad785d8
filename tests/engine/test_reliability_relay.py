"""The reliability session's relay: a stand-in it takes down is really down, and comes back."""

from __future__ import annotations

import http.server
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tests.reliability.relay import Relay


@pytest.fixture
def relay() -> Iterator[Relay]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    relay = Relay(server.server_address[1])
    try:
        yield relay
    finally:
        relay.stop()
        server.shutdown()
        server.server_close()


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def _status(relay: Relay) -> int | str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{relay.port}/", timeout=5) as answer:
            return int(answer.status)
    except urllib.error.URLError as exc:
        return str(exc.reason)


def test_down_refuses_the_very_next_connection_and_up_listens_again(relay: Relay) -> None:
    assert _status(relay) == 200
    for _ in range(3):
        relay.down()  # a listener left in accept() would take one more connection
        assert "Connection refused" in str(_status(relay))
        relay.up()
        assert _status(relay) == 200


def test_up_right_after_down_finds_the_port_free(relay: Relay) -> None:
    relay.down()
    relay.up()  # no connection in between: the old listener must not hold the port
    relay.up()  # idempotent
    assert _status(relay) == 200


def test_the_port_is_below_the_ephemeral_range(relay: Relay) -> None:
    assert 1024 <= relay.port < 32768
