"""Request dependencies of the identity domain: the SMS sender the app was created with."""

from __future__ import annotations

from fastapi import FastAPI, Request

from zhikong.auth.sms import SmsSender


def install_sms_sender(app: FastAPI, sender: SmsSender) -> None:
    """Give the app the SMS sender that delivers sign-in codes."""
    app.state.sms_sender = sender


def sms_sender(request: Request) -> SmsSender:
    """The SMS sender of the running app."""
    sender: SmsSender = request.app.state.sms_sender
    return sender
