"""Notifications: a JSON message POSTed to an incoming webhook (Slack, Teams, a chat bridge).

The standard library's ``urllib`` is enough for one POST with a JSON body; a webhook URL
carries its secret in its path, so no message here names the URL.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from urllib.parse import urlsplit

from ..errors import ReleaseError

__all__ = ["post_json"]


def post_json(url: str, payload: Mapping[str, object], *, timeout: float = 30) -> None:
    """POST *payload* as JSON to *url*; a refusal or a network failure is a ReleaseError."""
    body = json.dumps(payload).encode()
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    host = urlsplit(url).netloc.rpartition("@")[2]
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise ReleaseError(f"the webhook at {host} answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ReleaseError(f"could not reach the webhook at {host}: {reason}") from None
