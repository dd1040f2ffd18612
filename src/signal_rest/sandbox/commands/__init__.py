"""The method table: signal-cli's method names plus the sandbox control methods."""

from __future__ import annotations

from ..context import Command
from . import accounts, avatars, control, groups, messaging

COMMANDS: dict[str, Command] = {
    "version": Command("multi", accounts.version),
    "listAccounts": Command("multi", accounts.list_accounts),
    "startLink": Command("multi", accounts.start_link),
    "finishLink": Command("multi", accounts.finish_link),
    "register": Command("registration", accounts.register),
    "verify": Command("registration", accounts.verify),
    "listDevices": Command("single", accounts.list_devices),
    "getUserStatus": Command("single", accounts.get_user_status),
    "block": Command("single", accounts.block),
    "unblock": Command("single", accounts.unblock),
    "send": Command("single", messaging.send_command),
    "sendReaction": Command("single", messaging.send_reaction),
    "sendTyping": Command("single", messaging.send_typing),
    "sendReceipt": Command("single", messaging.send_receipt),
    "remoteDelete": Command("single", messaging.remote_delete),
    "getAttachment": Command("single", messaging.get_attachment),
    "getAvatar": Command("single", avatars.get_avatar),
    "updateGroup": Command("single", groups.update_group),
    "listGroups": Command("single", groups.list_groups),
    "quitGroup": Command("single", groups.quit_group),
    "sandbox.getVerificationCode": Command("control", control.get_verification_code),
    "sandbox.send": Command("control", control.send),
    "sandbox.act": Command("control", control.act),
    "sandbox.updateGroup": Command("control", control.update_group),
    "sandbox.listReceived": Command("control", control.list_received),
    "sandbox.scanLink": Command("control", control.scan_link),
    "sandbox.setNumber": Command("control", control.set_number),
}
