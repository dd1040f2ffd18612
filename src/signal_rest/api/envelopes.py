"""Received messages as signal-cli emits them: `{"envelope": {…}, "account": "+49…"}`.

The shapes the OpenAPI document gives `GET /v1/receive/{number}` (and the sandbox's record of
what outside users received). They follow signal-cli 0.13's JSON (`JsonMessageEnvelope` and
the classes it holds), which the service passes through untouched, with the Go project's
swagger (`data.Message`, `receive.*`) as the guide to names. Keys signal-cli always writes are
required, with `null` where it writes null; all others may be absent. Every shape allows keys
it does not list: signal-cli adds fields from release to release, and the service adds
`isVoiceNote` to attachments where signal-cli leaves it out.
"""

from __future__ import annotations

from typing import NotRequired

from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

__all__ = ["Envelope", "ReceivedMessage"]

NullableStr = str | None
NullableInt = int | None
_signal_cli = with_config(ConfigDict(extra="allow"))


@_signal_cli
class Attachment(TypedDict):
    contentType: NotRequired[NullableStr]
    filename: NotRequired[NullableStr]
    id: NotRequired[NullableStr]
    size: NotRequired[NullableInt]
    width: NotRequired[NullableInt]
    height: NotRequired[NullableInt]
    caption: NotRequired[NullableStr]
    uploadTimestamp: NotRequired[NullableInt]
    isVoiceNote: NotRequired[bool]


@_signal_cli
class Mention(TypedDict):
    name: NotRequired[NullableStr]
    number: NotRequired[NullableStr]
    uuid: NotRequired[NullableStr]
    start: int
    length: int


@_signal_cli
class TextStyle(TypedDict):
    style: str
    start: int
    length: int


@_signal_cli
class QuotedAttachment(TypedDict):
    contentType: NotRequired[NullableStr]
    filename: NotRequired[NullableStr]
    thumbnail: NotRequired[Attachment | None]


@_signal_cli
class Quote(TypedDict):
    id: int
    author: NotRequired[NullableStr]
    authorNumber: NotRequired[NullableStr]
    authorUuid: NotRequired[NullableStr]
    text: NotRequired[NullableStr]
    mentions: NotRequired[list[Mention]]
    attachments: NotRequired[list[QuotedAttachment]]
    textStyles: NotRequired[list[TextStyle]]


@_signal_cli
class Reaction(TypedDict):
    emoji: NotRequired[NullableStr]
    targetAuthor: NotRequired[NullableStr]
    targetAuthorNumber: NotRequired[NullableStr]
    targetAuthorUuid: NotRequired[NullableStr]
    targetSentTimestamp: int
    isRemove: bool


@_signal_cli
class Target(TypedDict):
    """The message an unpin or an admin delete is about."""

    targetAuthor: NotRequired[NullableStr]
    targetAuthorNumber: NotRequired[NullableStr]
    targetAuthorUuid: NotRequired[NullableStr]
    targetSentTimestamp: int


@_signal_cli
class PinMessage(Target):
    pinDurationSeconds: int


@_signal_cli
class Preview(TypedDict):
    url: NotRequired[NullableStr]
    title: NotRequired[NullableStr]
    description: NotRequired[NullableStr]
    image: NotRequired[Attachment | None]


@_signal_cli
class Sticker(TypedDict):
    packId: NotRequired[NullableStr]
    stickerId: int


@_signal_cli
class RemoteDelete(TypedDict):
    timestamp: int


@_signal_cli
class GroupInfo(TypedDict):
    groupId: str
    groupName: NotRequired[NullableStr]
    revision: NotRequired[NullableInt]
    type: NotRequired[NullableStr]


@_signal_cli
class StoryContext(TypedDict):
    authorNumber: NotRequired[NullableStr]
    authorUuid: NotRequired[NullableStr]
    sentTimestamp: int


@_signal_cli
class Payment(TypedDict):
    note: NotRequired[NullableStr]
    receipt: NotRequired[NullableStr]


@_signal_cli
class ContactName(TypedDict):
    nickname: NotRequired[NullableStr]
    given: NotRequired[NullableStr]
    family: NotRequired[NullableStr]
    prefix: NotRequired[NullableStr]
    suffix: NotRequired[NullableStr]
    middle: NotRequired[NullableStr]


@_signal_cli
class ContactAvatar(TypedDict):
    attachment: NotRequired[Attachment | None]
    isProfile: bool


@_signal_cli
class ContactDetail(TypedDict):
    """A shared contact's phone number or email address."""

    value: NotRequired[NullableStr]
    type: NotRequired[NullableStr]
    label: NotRequired[NullableStr]


@_signal_cli
class ContactAddress(TypedDict):
    type: NotRequired[NullableStr]
    label: NotRequired[NullableStr]
    street: NotRequired[NullableStr]
    pobox: NotRequired[NullableStr]
    neighborhood: NotRequired[NullableStr]
    city: NotRequired[NullableStr]
    region: NotRequired[NullableStr]
    postcode: NotRequired[NullableStr]
    country: NotRequired[NullableStr]


@_signal_cli
class SharedContact(TypedDict):
    name: NotRequired[ContactName | None]
    avatar: NotRequired[ContactAvatar | None]
    phone: NotRequired[list[ContactDetail]]
    email: NotRequired[list[ContactDetail]]
    address: NotRequired[list[ContactAddress]]
    organization: NotRequired[NullableStr]


@_signal_cli
class PollCreate(TypedDict):
    question: NotRequired[NullableStr]
    allowMultiple: bool
    options: NotRequired[list[str]]


@_signal_cli
class PollVote(TypedDict):
    author: NotRequired[NullableStr]
    authorNumber: NotRequired[NullableStr]
    authorUuid: NotRequired[NullableStr]
    targetSentTimestamp: int
    optionIndexes: NotRequired[list[int]]
    voteCount: int


@_signal_cli
class PollTerminate(TypedDict):
    targetSentTimestamp: int


@_signal_cli
class DataMessage(TypedDict):
    timestamp: int
    message: NullableStr
    expiresInSeconds: int
    isExpirationUpdate: bool
    viewOnce: bool
    reaction: NotRequired[Reaction]
    quote: NotRequired[Quote]
    payment: NotRequired[Payment]
    mentions: NotRequired[list[Mention]]
    previews: NotRequired[list[Preview]]
    attachments: NotRequired[list[Attachment]]
    sticker: NotRequired[Sticker]
    remoteDelete: NotRequired[RemoteDelete]
    contacts: NotRequired[list[SharedContact]]
    pollCreate: NotRequired[PollCreate]
    pollVote: NotRequired[PollVote]
    pollTerminate: NotRequired[PollTerminate]
    textStyles: NotRequired[list[TextStyle]]
    groupInfo: NotRequired[GroupInfo]
    storyContext: NotRequired[StoryContext]
    pinMessage: NotRequired[PinMessage]
    unpinMessage: NotRequired[Target]
    adminDelete: NotRequired[Target]


@_signal_cli
class EditMessage(TypedDict):
    targetSentTimestamp: int
    dataMessage: DataMessage


@_signal_cli
class Gradient(TypedDict):
    startColor: NotRequired[NullableStr]
    endColor: NotRequired[NullableStr]
    colors: NotRequired[list[str]]
    positions: NotRequired[list[float]]
    angle: NotRequired[NullableInt]


@_signal_cli
class TextAttachment(TypedDict):
    text: NotRequired[NullableStr]
    style: NotRequired[NullableStr]
    textForegroundColor: NotRequired[NullableStr]
    textBackgroundColor: NotRequired[NullableStr]
    preview: NotRequired[Preview | None]
    backgroundGradient: NotRequired[Gradient | None]
    backgroundColor: NotRequired[NullableStr]


@_signal_cli
class StoryMessage(TypedDict):
    allowsReplies: NotRequired[bool]
    groupId: NotRequired[NullableStr]
    fileAttachment: NotRequired[Attachment | None]
    textAttachment: NotRequired[TextAttachment | None]


@_signal_cli
class SentMessage(DataMessage):
    """A message the account sent from another of its devices: its dataMessage, flattened."""

    destination: NotRequired[NullableStr]
    destinationNumber: NotRequired[NullableStr]
    destinationUuid: NotRequired[NullableStr]
    editMessage: NotRequired[EditMessage]


@_signal_cli
class SentStoryMessage(StoryMessage):
    destinationNumber: NotRequired[NullableStr]
    destinationUuid: NotRequired[NullableStr]


@_signal_cli
class ReadMessage(TypedDict):
    sender: NotRequired[NullableStr]
    senderNumber: NotRequired[NullableStr]
    senderUuid: NotRequired[NullableStr]
    timestamp: int


@_signal_cli
class SyncMessage(TypedDict):
    sentMessage: NotRequired[SentMessage]
    sentStoryMessage: NotRequired[SentStoryMessage]
    blockedNumbers: NotRequired[list[str]]
    blockedGroupIds: NotRequired[list[str]]
    readMessages: NotRequired[list[ReadMessage]]
    type: NotRequired[NullableStr]


@_signal_cli
class ReceiptMessage(TypedDict):
    when: int
    isDelivery: bool
    isRead: bool
    isViewed: bool
    timestamps: list[int]


@_signal_cli
class TypingMessage(TypedDict):
    action: str
    timestamp: int
    groupId: NotRequired[str]


@_signal_cli
class CallOffer(TypedDict):
    id: NotRequired[NullableInt]
    type: NotRequired[NullableStr]
    opaque: NotRequired[NullableStr]


@_signal_cli
class CallAnswer(TypedDict):
    """A call's answer, busy signal or ICE update: `busyMessage` has only the id."""

    id: NotRequired[NullableInt]
    opaque: NotRequired[NullableStr]


@_signal_cli
class CallHangup(TypedDict):
    id: NotRequired[NullableInt]
    type: NotRequired[NullableStr]
    deviceId: int


@_signal_cli
class CallMessage(TypedDict):
    offerMessage: NotRequired[CallOffer]
    answerMessage: NotRequired[CallAnswer]
    busyMessage: NotRequired[CallAnswer]
    hangupMessage: NotRequired[CallHangup]
    iceUpdateMessages: NotRequired[list[CallAnswer]]


@_signal_cli
class Envelope(TypedDict):
    """One received message: who sent it and when, and the one kind of content it carries."""

    source: NullableStr
    sourceNumber: NullableStr
    sourceUuid: NullableStr
    sourceName: NullableStr
    sourceDevice: NullableInt
    timestamp: int
    serverReceivedTimestamp: int
    serverDeliveredTimestamp: int
    dataMessage: NotRequired[DataMessage]
    editMessage: NotRequired[EditMessage]
    syncMessage: NotRequired[SyncMessage]
    receiptMessage: NotRequired[ReceiptMessage]
    typingMessage: NotRequired[TypingMessage]
    callMessage: NotRequired[CallMessage]
    storyMessage: NotRequired[StoryMessage]


@_signal_cli
class ReceiveException(TypedDict):
    """Why signal-cli could not read an envelope (an untrusted identity, …)."""

    message: NullableStr
    type: NullableStr


@_signal_cli
class ReceivedMessage(TypedDict):
    """What signal-cli's `receive` notification holds, and what one element of the answer is."""

    envelope: NotRequired[Envelope]
    account: str
    exception: NotRequired[ReceiveException]
