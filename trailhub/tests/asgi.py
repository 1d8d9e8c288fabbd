"""Test support: reading a whole HTTP answer from an ASGI application under test."""

from __future__ import annotations

import json

from asgiref.testing import ApplicationCommunicator


async def answer(communicator: ApplicationCommunicator) -> tuple[int, dict]:
    """The status and the JSON body the application sent (waiting at most 10 s a message)."""
    start = await communicator.receive_output(10)
    assert start["type"] == "http.response.start"
    body = b""
    while True:
        message = await communicator.receive_output(10)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    return start["status"], json.loads(body)
