"""signalbot 2.x, unchanged, runs a bot against the service on the sandbox.

An outside user sends the bot a photo; the bot shows typing, marks the photo read, reacts to it,
replies with a quote and stops typing. What the outside user's phone received is asserted whole.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from signalbot import (
    DataMessageContext,
    DataMessageHandler,
    ReadyContext,
    ReadyHandler,
    SendMessage,
    SignalBot,
)
from signalbot.receipts import ReceiptType

from tests.support.flows import ALICE
from tests.support.service import RunningService
from tests.support.shapes import UUID, data_message

CAROL = "+4915100000003"  # an outside Signal user writing to the bot
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
WATCHDOG = 60.0  # seconds after which the bot stops even if it never handled the photo


class PhotoFromCarol(ReadyHandler):
    """Once the bot is ready, Carol sends it a photo (and the bot gets a watchdog)."""

    def __init__(self, service: RunningService) -> None:
        self.service = service
        self.sent: int | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def handle_ready(self, context: ReadyContext) -> None:
        self.loop = asyncio.get_running_loop()
        self.loop.call_later(WATCHDOG, context.bot.request_stop)
        body = {
            "from": CAROL,
            "recipients": [ALICE],
            "message": "look",
            "base64_attachments": [base64.b64encode(PNG).decode()],
        }
        response = await asyncio.to_thread(self.service.client.post, "/v1/sandbox/send", json=body)
        assert response.status_code == 201, response.text
        self.sent = int(response.json()["timestamp"])


class Acknowledge(DataMessageHandler):
    """What many bots do with a message: typing, read receipt, reaction, quoted reply."""

    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.reply_ts: int | None = None

    async def handle_data_message(self, context: DataMessageContext) -> None:
        self.seen.append(context.message)
        await context.start_typing()
        await context.send_receipt(ReceiptType.READ)
        await context.react("👍")
        attachments = context.message.attachments or []
        sent = await context.reply(SendMessage(text=f"got {len(attachments)} attachment(s)"))
        self.reply_ts = sent.timestamp
        await context.stop_typing()
        context.bot.request_stop()


def run_bot(service: RunningService) -> tuple[PhotoFromCarol, Acknowledge]:
    bot = SignalBot(
        {
            "phone_number": ALICE,
            "signal_service": f"127.0.0.1:{service.port}",
            "connection_mode": "http_only",
            "storage": {"type": "in-memory"},
            "download_attachments": True,  # GET /v1/attachments/{id}, as a bot does by default
        }
    )
    ready, handler = PhotoFromCarol(service), Acknowledge()
    bot.register(ready)
    bot.register(handler)
    bot.start()  # runs until the handler (or the watchdog) stops the bot
    assert ready.loop is not None, "the bot never became ready"
    ready.loop.close()  # also removes the SIGINT/SIGTERM handlers the bot installed
    asyncio.set_event_loop(None)  # the bot made its loop the thread's current one
    return ready, handler


def test_signalbot_receives_a_photo_and_acknowledges_it(accounts: RunningService) -> None:
    ready, handler = run_bot(accounts)
    assert ready.sent is not None
    photo_ts = ready.sent

    [message] = handler.seen
    assert (message.source_number, message.text, message.timestamp) == (CAROL, "look", photo_ts)
    [attachment] = message.attachments
    assert (attachment.content_type, attachment.size, attachment.is_voice_note) == (
        "image/png",
        len(PNG),
        False,
    )
    assert attachment.base64_content == base64.b64encode(PNG).decode()  # downloaded, exact

    received = accounts.client.get(f"/v1/sandbox/received/{CAROL}").json()
    # Carol's phone: everything the bot did, after the delivery receipt signal-cli sends itself.
    delivery, *from_bot = received
    assert delivery["envelope"]["receiptMessage"]["isDelivery"] is True
    envelope = from_bot[0]["envelope"]
    assert UUID.match(envelope["sourceUuid"])
    carol_uuid = message.source_uuid
    stamps = [m["envelope"]["timestamp"] for m in from_bot]
    typing_ts, receipt_ts, reaction_ts, reply_ts, stop_ts = stamps
    assert reply_ts == handler.reply_ts
    contents: list[dict[str, Any]] = [
        {"typingMessage": {"action": "STARTED", "timestamp": typing_ts}},
        {
            "receiptMessage": {
                "when": receipt_ts,
                "isDelivery": False,
                "isRead": True,
                "isViewed": False,
                "timestamps": [photo_ts],
            }
        },
        {
            "dataMessage": data_message(
                reaction_ts,
                None,
                reaction={
                    "emoji": "👍",
                    "targetAuthor": CAROL,
                    "targetAuthorNumber": CAROL,
                    "targetAuthorUuid": carol_uuid,
                    "targetSentTimestamp": photo_ts,
                    "isRemove": False,
                },
            )
        },
        {
            "dataMessage": data_message(
                reply_ts,
                "got 1 attachment(s)",
                quote={
                    "id": photo_ts,
                    "author": CAROL,
                    "authorNumber": CAROL,
                    "authorUuid": carol_uuid,
                    "text": "look",
                    "attachments": [],
                },
            )
        },
        {"typingMessage": {"action": "STOPPED", "timestamp": stop_ts}},
    ]
    assert from_bot == [
        {
            "envelope": {
                "source": ALICE,
                "sourceNumber": ALICE,
                "sourceUuid": envelope["sourceUuid"],
                "sourceName": m["envelope"]["sourceName"],
                "sourceDevice": 1,
                "timestamp": ts,
                "serverReceivedTimestamp": m["envelope"]["serverReceivedTimestamp"],
                "serverDeliveredTimestamp": m["envelope"]["serverDeliveredTimestamp"],
                **content,
            },
            "account": CAROL,
        }
        for m, ts, content in zip(from_bot, stamps, contents, strict=True)
    ]
