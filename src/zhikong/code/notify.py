"""Notifications of colour changes: an interface, a log notifier and a webhook notifier."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Protocol

import httpx

log = logging.getLogger("zhikong.notify")


@dataclass(frozen=True)
class ColourNotice:
    """A resident's code changed colour (no personal data beyond the pseudonymous id)."""

    resident_id: int
    old_colour: str | None
    new_colour: str
    at: datetime
    rule_id: str
    rule_version: str
    cause: str

    def as_json(self) -> dict[str, object]:
        """The notice as JSON."""
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return data


class Notifier(Protocol):
    """Something told about every colour change, after the change is committed."""

    def notify(self, notices: Sequence[ColourNotice]) -> None:
        """Deliver the notices (must not raise for delivery problems: log them)."""
        ...


class LogNotifier:
    """Writes each notice to the log (the default)."""

    def __init__(self) -> None:
        self.sent: list[ColourNotice] = []

    def notify(self, notices: Sequence[ColourNotice]) -> None:
        """Log the notices."""
        for notice in notices:
            self.sent.append(notice)
            log.info("colour change", extra={"notice": notice.as_json()})


class WebhookNotifier:
    """POSTs notices as JSON to a URL, signed with HMAC-SHA256 (header X-Zhikong-Signature)."""

    def __init__(self, url: str, secret: str, timeout: float = 5.0) -> None:
        self.url = url
        self.secret = secret.encode()
        self.timeout = timeout

    def notify(self, notices: Sequence[ColourNotice]) -> None:
        """Send the notices in one request; failures are logged, never raised."""
        if not notices:
            return
        body = json.dumps(
            {"notices": [n.as_json() for n in notices]}, ensure_ascii=False, sort_keys=True
        ).encode()
        signature = hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        try:
            response = httpx.post(
                self.url,
                content=body,
                headers={"Content-Type": "application/json", "X-Zhikong-Signature": signature},
                timeout=self.timeout,
            )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            log.error("webhook delivery failed", extra={"url": self.url, "error": str(exc)})


def notifier_from_settings(spec: str, secret: str) -> Notifier:
    """`log` or a webhook URL."""
    if spec == "log":
        return LogNotifier()
    if spec.startswith(("http://", "https://")):
        return WebhookNotifier(spec, secret)
    raise ValueError(f"ZHIKONG_NOTIFIER must be 'log' or an http(s) URL, not {spec!r}")
