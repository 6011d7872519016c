"""Sending SMS: an interface, and a default that writes to the log.

To plug a real gateway, write a class with `send(phone: str, text: str) -> None` and set
`ZHIKONG_SMS_SENDER=your.module:YourSender` (a callable returning the sender).
"""

from __future__ import annotations

import importlib
import logging
from typing import Protocol

from zhikong.auth.pii import mask_phone

log = logging.getLogger("zhikong.sms")


class SmsSender(Protocol):
    """Something that delivers a text message to a phone number."""

    def send(self, phone: str, text: str) -> None:
        """Deliver a message (raise on failure)."""
        ...


class LogSmsSender:
    """Development sender: writes the message to the log instead of sending it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        """Log the message with the phone number masked."""
        self.sent.append((phone, text))
        log.warning("sms not sent (log sender)", extra={"to": mask_phone(phone), "text": text})


def load_sms_sender(spec: str) -> SmsSender:
    """Build the sender named 'module:callable'."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"ZHIKONG_SMS_SENDER must look like module:callable, not {spec!r}")
    factory = getattr(importlib.import_module(module_name), attribute)
    sender: SmsSender = factory()
    return sender
