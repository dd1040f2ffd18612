"""The method table: signal-cli's method names plus the sandbox control methods."""

from __future__ import annotations

from ..context import Command
from . import accounts, avatars, control, groups, messaging, pins, polls, stickers

COMMANDS: dict[str, Command] = {
    "version": Command("multi", accounts.version),
    "listAccounts": Command("multi", accounts.list_accounts),
    "startLink": Command("multi", accounts.start_link),
    "finishLink": Command("multi", accounts.finish_link),
    "register": Command("registration", accounts.register),
    "verify": Command("registration", accounts.verify),
    "listDevices": Command("single", accounts.list_devices),
    "getUserStatus": Command("single", accounts.get_user_status),
    "updateAccount": Command("single", accounts.update_account),
    "updateProfile": Command("single", accounts.update_profile),
    "block": Command("single", accounts.block),
    "unblock": Command("single", accounts.unblock),
    "send": Command("single", messaging.send_command),
    "sendReaction": Command("single", messaging.send_reaction),
    "sendTyping": Command("single", messaging.send_typing),
    "sendReceipt": Command("single", messaging.send_receipt),
    "remoteDelete": Command("single", messaging.remote_delete),
    "getAttachment": Command("single", messaging.get_attachment),
    "sendPollCreate": Command("single", polls.send_poll_create),
    "sendPollVote": Command("single", polls.send_poll_vote),
    "sendPollTerminate": Command("single", polls.send_poll_terminate),
    "sendPinMessage": Command("single", pins.send_pin_message),
    "sendUnpinMessage": Command("single", pins.send_unpin_message),
    "getAvatar": Command("single", avatars.get_avatar),
    "updateGroup": Command("single", groups.update_group),
    "listGroups": Command("single", groups.list_groups),
    "quitGroup": Command("single", groups.quit_group),
    "listStickerPacks": Command("single", stickers.list_sticker_packs),
    "addStickerPack": Command("single", stickers.add_sticker_pack),
    "getSticker": Command("single", stickers.get_sticker),
    "sandbox.getVerificationCode": Command("control", control.get_verification_code),
    "sandbox.send": Command("control", control.send),
    "sandbox.act": Command("control", control.act),
    "sandbox.updateGroup": Command("control", control.update_group),
    "sandbox.listReceived": Command("control", control.list_received),
    "sandbox.scanLink": Command("control", control.scan_link),
    "sandbox.setNumber": Command("control", control.set_number),
    "sandbox.setProfile": Command("control", control.set_profile),
    "sandbox.createStickerPack": Command("control", control.create_sticker_pack),
}
