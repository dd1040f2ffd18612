"""The same offline-answerable lines to the real signal-cli 0.13.19 daemon and to the sandbox."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from signal_rest.sandbox import SandboxDaemon
from tests.support.realcli import start_daemon

pytestmark = pytest.mark.realcli

CASES: list[tuple[str, list[str]]] = [
    ("empty_line", [""]),
    ("blank_line", ["   "]),
    ("invalid_json_field_name", ["{bad"]),
    ("invalid_json_value", ['{"a":}']),
    ("invalid_json_eof_in_object", ['{"a"']),
    ("invalid_json_unclosed", ["{"]),
    ("invalid_json_token", ["nope"]),
    ("invalid_json_trailing_comma", ['{"a":1,}']),
    ("invalid_json_array_eof", ["[1,"]),
    ("non_object_number", ["5"]),
    ("non_object_string", ['"str"']),
    ("non_object_null", ["null"]),
    ("empty_batch", ["[]"]),
    ("batch_of_non_objects", ['[{"jsonrpc":"2.0","id":"c1","method":"version"},5]']),
    ("wrong_jsonrpc_version", ['{"jsonrpc":"1.0","id":1,"method":"version"}']),
    ("missing_jsonrpc", ['{"id":2,"method":"version"}']),
    ("numeric_jsonrpc", ['{"jsonrpc":2.0,"id":3,"method":"version"}']),
    ("missing_method", ['{"jsonrpc":"2.0","id":4}']),
    ("unknown_method", ['{"jsonrpc":"2.0","id":5,"method":"nope"}']),
    ("daemon_method", ['{"jsonrpc":"2.0","id":6,"method":"daemon"}']),
    ("unknown_top_level_field", ['{"jsonrpc":"2.0","id":"x","method":"version","extra":1}']),
    ("array_id", ['{"jsonrpc":"2.0","id":[1],"method":"version"}']),
    ("params_array", ['{"jsonrpc":"2.0","id":7,"method":"version","params":[1]}']),
    ("params_scalar", ['{"jsonrpc":"2.0","id":8,"method":"version","params":5}']),
    ("params_null", ['{"jsonrpc":"2.0","id":9,"method":"version","params":null}']),
    ("null_id", ['{"jsonrpc":"2.0","id":null,"method":"nope"}']),
    (
        "odd_ids",
        [
            '{"jsonrpc":"2.0","id":1.5,"method":"version"}',
            '{"jsonrpc":"2.0","id":true,"method":"version"}',
        ],
    ),
    (
        "finish_link_unknown_field",
        [
            '{"jsonrpc":"2.0","id":10,"method":"finishLink","params":{"deviceLinkUri":"sgnl://x","bogus":1}}'
        ],
    ),
    (
        "finish_link_account_field",
        [
            '{"jsonrpc":"2.0","id":11,"method":"finishLink","params":{"deviceLinkUri":"sgnl://x","account":"+1"}}'
        ],
    ),
    ("finish_link_missing_uri", ['{"jsonrpc":"2.0","id":12,"method":"finishLink","params":{}}']),
    (
        "finish_link_unknown_uri",
        [
            '{"jsonrpc":"2.0","id":13,"method":"finishLink","params":{"deviceLinkUri":"sgnl://linkdevice?uuid=x&pub_key=y"}}'
        ],
    ),
    (
        "register_unknown_field",
        [
            '{"jsonrpc":"2.0","id":14,"method":"register","params":{"account":"+14155550100","bogus":1}}'
        ],
    ),
    (
        "verify_unknown_field",
        [
            '{"jsonrpc":"2.0","id":15,"method":"verify","params":{"account":"+14155550100","verificationCode":"1","x":2}}'
        ],
    ),
    ("register_without_account", ['{"jsonrpc":"2.0","id":16,"method":"register"}']),
    (
        "verify_without_account",
        ['{"jsonrpc":"2.0","id":17,"method":"verify","params":{"verificationCode":"1"}}'],
    ),
    (
        "verify_without_register",
        [
            '{"jsonrpc":"2.0","id":18,"method":"verify","params":{"account":"+14155550100","verificationCode":"123456"}}'
        ],
    ),
    ("list_groups_without_account", ['{"jsonrpc":"2.0","id":19,"method":"listGroups"}']),
    (
        "list_groups_unknown_account",
        ['{"jsonrpc":"2.0","id":20,"method":"listGroups","params":{"account":"+14155550177"}}'],
    ),
    (
        "list_groups_numeric_account",
        ['{"jsonrpc":"2.0","id":21,"method":"listGroups","params":{"account":5}}'],
    ),
    (
        "send_unknown_account",
        [
            '{"jsonrpc":"2.0","id":22,"method":"send","params":{"account":"+14155550177","recipient":"+14155550101","message":"x"}}'
        ],
    ),
    (
        "send_reaction_unknown_account",
        [
            '{"jsonrpc":"2.0","id":41,"method":"sendReaction","params":{"account":"+14155550177","recipient":"+14155550101","emoji":"x","targetAuthor":"+14155550101","targetTimestamp":1752436800000}}'
        ],
    ),
    (
        "send_reaction_without_account",
        [
            '{"jsonrpc":"2.0","id":42,"method":"sendReaction","params":{"recipient":"+14155550101","emoji":"x","targetAuthor":"+14155550101","targetTimestamp":1752436800000}}'
        ],
    ),
    (
        "send_typing_unknown_account",
        [
            '{"jsonrpc":"2.0","id":43,"method":"sendTyping","params":{"account":"+14155550177","recipient":"+14155550101","stop":true}}'
        ],
    ),
    (
        "send_typing_without_account",
        [
            '{"jsonrpc":"2.0","id":44,"method":"sendTyping","params":{"recipient":"+14155550101","stop":true}}'
        ],
    ),
    (
        "send_receipt_unknown_account",
        [
            '{"jsonrpc":"2.0","id":45,"method":"sendReceipt","params":{"account":"+14155550177","recipient":"+14155550101","targetTimestamp":[1752436800000],"type":"viewed"}}'
        ],
    ),
    (
        "send_receipt_without_account",
        [
            '{"jsonrpc":"2.0","id":46,"method":"sendReceipt","params":{"recipient":"+14155550101","targetTimestamp":[1752436800000],"type":"viewed"}}'
        ],
    ),
    (
        "remote_delete_unknown_account",
        [
            '{"jsonrpc":"2.0","id":47,"method":"remoteDelete","params":{"account":"+14155550177","recipient":"+14155550101","targetTimestamp":1752436800000}}'
        ],
    ),
    (
        "remote_delete_without_account",
        [
            '{"jsonrpc":"2.0","id":48,"method":"remoteDelete","params":{"recipient":"+14155550101","targetTimestamp":1752436800000}}'
        ],
    ),
    # identities: what signal-cli answers before it looks at the account's keys
    ("list_identities_without_account", ['{"jsonrpc":"2.0","id":61,"method":"listIdentities"}']),
    (
        "list_identities_unknown_account",
        [
            '{"jsonrpc":"2.0","id":62,"method":"listIdentities","params":{"account":"+14155550177","number":"+14155550101"}}'
        ],
    ),
    (
        "list_identities_numeric_account",
        ['{"jsonrpc":"2.0","id":63,"method":"listIdentities","params":{"account":5}}'],
    ),
    (
        "trust_without_account",
        [
            '{"jsonrpc":"2.0","id":64,"method":"trust","params":{"recipient":"+14155550101","trustAllKnownKeys":true}}'
        ],
    ),
    (
        "trust_unknown_account",
        [
            '{"jsonrpc":"2.0","id":65,"method":"trust","params":{"account":"+14155550177","recipient":"+14155550101","verifiedSafetyNumber":"123"}}'
        ],
    ),
    (
        "trust_unknown_account_bad_flag_type",
        [
            '{"jsonrpc":"2.0","id":66,"method":"trust","params":{"account":"+14155550177","recipient":"+14155550101","trustAllKnownKeys":"yes"}}'
        ],
    ),
    (
        "trust_params_array",
        ['{"jsonrpc":"2.0","id":67,"method":"trust","params":["+14155550101"]}'],
    ),
    ("receive_without_account", ['{"jsonrpc":"2.0","id":23,"method":"receive"}']),
    (
        "get_attachment_without_account",
        ['{"jsonrpc":"2.0","id":24,"method":"getAttachment","params":{"id":"x"}}'],
    ),
    (
        "get_attachment_unknown_account",
        [
            '{"jsonrpc":"2.0","id":251,"method":"getAttachment","params":{"account":"+14155550177","id":"x.png"}}'
        ],
    ),
    (
        "get_avatar_without_account",
        ['{"jsonrpc":"2.0","id":252,"method":"getAvatar","params":{"groupId":"AAAA"}}'],
    ),
    (
        "get_avatar_unknown_account",
        [
            '{"jsonrpc":"2.0","id":253,"method":"getAvatar","params":{"account":"+14155550177","groupId":"AAAA"}}'
        ],
    ),
    (
        "get_avatar_numeric_account",
        ['{"jsonrpc":"2.0","id":254,"method":"getAvatar","params":{"account":5,"profile":"+1"}}'],
    ),
    ("version", ['{"jsonrpc":"2.0","id":25,"method":"version"}']),
    (
        "list_accounts",
        ['{"jsonrpc":"2.0","id":26,"method":"listAccounts","params":{"account":"+14155550100"}}'],
    ),
    (
        "subscribe_and_unsubscribe",
        [
            '{"jsonrpc":"2.0","id":27,"method":"subscribeReceive"}',
            '{"jsonrpc":"2.0","id":28,"method":"subscribeReceive"}',
            '{"jsonrpc":"2.0","id":29,"method":"unsubscribeReceive","params":{"subscription":0}}',
            '{"jsonrpc":"2.0","id":30,"method":"unsubscribeReceive","params":[1]}',
            '{"jsonrpc":"2.0","id":31,"method":"unsubscribeReceive","params":{"subscription":1}}',
        ],
    ),
    (
        "subscribe_unknown_account",
        [
            '{"jsonrpc":"2.0","id":32,"method":"subscribeReceive","params":{"account":"+14155550177"}}'
        ],
    ),
    (
        "unsubscribe_unknown_id",
        ['{"jsonrpc":"2.0","id":33,"method":"unsubscribeReceive","params":{"subscription":99}}'],
    ),
    (
        "unsubscribe_string_id",
        ['{"jsonrpc":"2.0","id":34,"method":"unsubscribeReceive","params":{"subscription":"1"}}'],
    ),
    ("unsubscribe_missing_id", ['{"jsonrpc":"2.0","id":35,"method":"unsubscribeReceive"}']),
    (
        "unsubscribe_empty_positional",
        ['{"jsonrpc":"2.0","id":36,"method":"unsubscribeReceive","params":[]}'],
    ),
    (
        "batch",
        [
            '[{"jsonrpc":"2.0","id":"b1","method":"version"},{"jsonrpc":"2.0","id":"b2","method":"nope"},{"jsonrpc":"2.0","method":"version"}]'
        ],
    ),
    (
        "notification_gets_no_answer",
        ['{"jsonrpc":"2.0","method":"nope"}', '{"jsonrpc":"2.0","id":37,"method":"version"}'],
    ),
    ("trailing_garbage_ignored", ['{"jsonrpc":"2.0","id":38,"method":"version"} x']),
    (
        "update_account_without_account",
        ['{"jsonrpc":"2.0","id":39,"method":"updateAccount","params":{"username":"nick"}}'],
    ),
    (
        "update_account_unknown_account",
        [
            '{"jsonrpc":"2.0","id":40,"method":"updateAccount","params":{"account":"+14155550177","username":"nick.42"}}'
        ],
    ),
    (
        "update_account_delete_username_unknown_account",
        [
            '{"jsonrpc":"2.0","id":41,"method":"updateAccount","params":{"account":"+14155550177","deleteUsername":true}}'
        ],
    ),
    (
        "update_profile_without_account",
        ['{"jsonrpc":"2.0","id":42,"method":"updateProfile","params":{"givenName":"A"}}'],
    ),
    (
        "update_profile_unknown_account",
        [
            '{"jsonrpc":"2.0","id":43,"method":"updateProfile","params":{"account":"+14155550177","givenName":"A","removeAvatar":true}}'
        ],
    ),
    (
        "get_user_status_username_without_account",
        ['{"jsonrpc":"2.0","id":44,"method":"getUserStatus","params":{"username":["nick.42"]}}'],
    ),
    (
        "get_user_status_username_unknown_account",
        [
            '{"jsonrpc":"2.0","id":45,"method":"getUserStatus","params":{"account":"+14155550177","username":"nick.42"}}'
        ],
    ),
    (
        "send_to_username_unknown_account",
        [
            '{"jsonrpc":"2.0","id":46,"method":"send","params":{"account":"+14155550177","username":"nick.42","message":"x","notifySelf":true}}'
        ],
    ),
    (
        "send_note_to_self_without_account",
        ['{"jsonrpc":"2.0","id":47,"method":"send","params":{"noteToSelf":true,"message":"x"}}'],
    ),
    (
        "list_sticker_packs_without_account",
        ['{"jsonrpc":"2.0","id":39,"method":"listStickerPacks"}'],
    ),
    (
        "list_sticker_packs_unknown_account",
        [
            '{"jsonrpc":"2.0","id":40,"method":"listStickerPacks","params":{"account":"+14155550177"}}'
        ],
    ),
    (
        "add_sticker_pack_without_account",
        ['{"jsonrpc":"2.0","id":41,"method":"addStickerPack","params":{"uri":"x"}}'],
    ),
    (
        "add_sticker_pack_unknown_account",
        [
            '{"jsonrpc":"2.0","id":42,"method":"addStickerPack","params":{"account":"+14155550177","uri":["https://signal.art/addstickers/#pack_id=00&pack_key=00"]}}'
        ],
    ),
    (
        "get_sticker_without_account",
        ['{"jsonrpc":"2.0","id":43,"method":"getSticker","params":{"packId":"00","stickerId":0}}'],
    ),
    (
        "get_sticker_unknown_account",
        [
            '{"jsonrpc":"2.0","id":44,"method":"getSticker","params":{"account":"+14155550177","packId":"0"}}'
        ],
    ),
    (
        "quit_group_unknown_account",
        [
            '{"jsonrpc":"2.0","id":45,"method":"quitGroup","params":{"account":"+14155550177","groupId":"x","admin":["+14155550101"]}}'
        ],
    ),
    # contacts: every param is read only once the account is selected
    ("list_contacts_without_account", ['{"jsonrpc":"2.0","id":60,"method":"listContacts"}']),
    (
        "list_contacts_unknown_account",
        [
            '{"jsonrpc":"2.0","id":61,"method":"listContacts","params":{"account":"+14155550177","allRecipients":true,"recipient":["+14155550101"]}}'
        ],
    ),
    (
        "list_contacts_numeric_account_badly_typed_flag",
        [
            '{"jsonrpc":"2.0","id":62,"method":"listContacts","params":{"account":5,"allRecipients":"yes"}}'
        ],
    ),
    (
        "update_contact_without_account",
        [
            '{"jsonrpc":"2.0","id":63,"method":"updateContact","params":{"recipient":"+14155550101","name":"A","expiration":60}}'
        ],
    ),
    (
        "update_contact_unknown_account",
        [
            '{"jsonrpc":"2.0","id":64,"method":"updateContact","params":{"account":"+14155550177","recipient":"+14155550101","expiration":"soon"}}'
        ],
    ),
    ("send_contacts_without_account", ['{"jsonrpc":"2.0","id":65,"method":"sendContacts"}']),
    (
        "send_contacts_unknown_account",
        ['{"jsonrpc":"2.0","id":66,"method":"sendContacts","params":{"account":"+14155550177"}}'],
    ),
    (
        "update_profile_list_account",
        [
            '{"jsonrpc":"2.0","id":67,"method":"updateProfile","params":{"account":["+14155550177"],"givenName":"A"}}'
        ],
    ),
    (
        "set_pin_without_account",
        ['{"jsonrpc":"2.0","id":50,"method":"setPin","params":{"pin":"1234"}}'],
    ),
    (
        "set_pin_unknown_account",
        [
            '{"jsonrpc":"2.0","id":51,"method":"setPin","params":{"account":"+14155550177","pin":"1234"}}'
        ],
    ),
    (
        "set_pin_numeric_pin_unknown_account",
        [
            '{"jsonrpc":"2.0","id":52,"method":"setPin","params":{"account":"+14155550177","pin":1234}}'
        ],
    ),
    ("set_pin_no_params", ['{"jsonrpc":"2.0","id":53,"method":"setPin"}']),
    ("remove_pin_without_account", ['{"jsonrpc":"2.0","id":54,"method":"removePin"}']),
    (
        "remove_pin_unknown_account",
        ['{"jsonrpc":"2.0","id":55,"method":"removePin","params":{"account":"+14155550177"}}'],
    ),
    (
        "submit_rate_limit_challenge_without_account",
        [
            '{"jsonrpc":"2.0","id":56,"method":"submitRateLimitChallenge","params":{"challenge":"t","captcha":"signalcaptcha://c"}}'
        ],
    ),
    (
        "submit_rate_limit_challenge_unknown_account",
        [
            '{"jsonrpc":"2.0","id":57,"method":"submitRateLimitChallenge","params":{"account":"+14155550177","challenge":"t","captcha":"signalcaptcha://c"}}'
        ],
    ),
    (
        "submit_rate_limit_challenge_missing_params_unknown_account",
        [
            '{"jsonrpc":"2.0","id":58,"method":"submitRateLimitChallenge","params":{"account":"+14155550177"}}'
        ],
    ),
    (
        "update_account_settings_without_account",
        [
            '{"jsonrpc":"2.0","id":59,"method":"updateAccount","params":{"discoverableByNumber":false,"numberSharing":false}}'
        ],
    ),
    (
        "update_account_settings_unknown_account",
        [
            '{"jsonrpc":"2.0","id":60,"method":"updateAccount","params":{"account":"+14155550177","discoverable-by-number":false,"number-sharing":true}}'
        ],
    ),
    (
        "update_account_settings_string_flag_unknown_account",
        [
            '{"jsonrpc":"2.0","id":61,"method":"updateAccount","params":{"account":"+14155550177","discoverableByNumber":"no"}}'
        ],
    ),
    (
        "get_user_status_numbers_without_account",
        [
            '{"jsonrpc":"2.0","id":62,"method":"getUserStatus","params":{"recipient":["+14155550101","+14155550199"]}}'
        ],
    ),
    (
        "get_user_status_numbers_unknown_account",
        [
            '{"jsonrpc":"2.0","id":63,"method":"getUserStatus","params":{"account":"+14155550177","recipient":["+14155550101"]}}'
        ],
    ),
    (
        "get_user_status_empty_account",
        [
            '{"jsonrpc":"2.0","id":64,"method":"getUserStatus","params":{"account":"","recipient":["+14155550101"]}}'
        ],
    ),
    (
        "get_user_status_bad_recipient_unknown_account",
        [
            '{"jsonrpc":"2.0","id":65,"method":"getUserStatus","params":{"account":"+14155550177","recipient":"notanumber"}}'
        ],
    ),
    ("list_devices_without_account", ['{"jsonrpc":"2.0","id":60,"method":"listDevices"}']),
    (
        "list_devices_unknown_account",
        ['{"jsonrpc":"2.0","id":61,"method":"listDevices","params":{"account":"+14155550177"}}'],
    ),
    (
        "add_device_without_account",
        [
            '{"jsonrpc":"2.0","id":62,"method":"addDevice","params":{"uri":"sgnl://linkdevice?uuid=x&pub_key=y"}}'
        ],
    ),
    (
        "add_device_unknown_account",
        [
            '{"jsonrpc":"2.0","id":63,"method":"addDevice","params":{"account":"+14155550177","uri":"sgnl://x"}}'
        ],
    ),
    (
        "add_device_numeric_account",
        ['{"jsonrpc":"2.0","id":64,"method":"addDevice","params":{"account":5,"uri":"x"}}'],
    ),
    (
        "remove_device_without_account",
        ['{"jsonrpc":"2.0","id":65,"method":"removeDevice","params":{"deviceId":2}}'],
    ),
    (
        "remove_device_unknown_account",
        [
            '{"jsonrpc":"2.0","id":66,"method":"removeDevice","params":{"account":"+14155550177","deviceId":2}}'
        ],
    ),
    (
        "remove_device_string_id_unknown_account",
        [
            '{"jsonrpc":"2.0","id":67,"method":"removeDevice","params":{"account":"+14155550177","deviceId":"2"}}'
        ],
    ),
    ("unregister_without_account", ['{"jsonrpc":"2.0","id":68,"method":"unregister"}']),
    (
        "unregister_unknown_account",
        [
            '{"jsonrpc":"2.0","id":69,"method":"unregister","params":{"account":"+14155550177","deleteAccount":true}}'
        ],
    ),
    (
        "unregister_string_flag_unknown_account",
        [
            '{"jsonrpc":"2.0","id":70,"method":"unregister","params":{"account":"+14155550177","deleteAccount":"yes"}}'
        ],
    ),
    (
        "delete_local_data_without_account",
        ['{"jsonrpc":"2.0","id":71,"method":"deleteLocalAccountData"}'],
    ),
    (
        "delete_local_data_flag_without_account",
        [
            '{"jsonrpc":"2.0","id":72,"method":"deleteLocalAccountData","params":{"ignoreRegistered":true}}'
        ],
    ),
    (
        "delete_local_data_params_array",
        ['{"jsonrpc":"2.0","id":73,"method":"deleteLocalAccountData","params":[1]}'],
    ),
    ("register_params_array", ['{"jsonrpc":"2.0","id":74,"method":"register","params":[1]}']),
    (
        "delete_local_data_unknown_account",
        [
            '{"jsonrpc":"2.0","id":75,"method":"deleteLocalAccountData","params":{"account":"+14155550177"}}'
        ],
    ),
    (
        "delete_local_data_kebab_flag",
        [
            '{"jsonrpc":"2.0","id":76,"method":"deleteLocalAccountData","params":{"account":"+14155550177","ignore-registered":true}}'
        ],
    ),
    (
        "delete_local_data_string_flag",
        [
            '{"jsonrpc":"2.0","id":77,"method":"deleteLocalAccountData","params":{"account":"+14155550177","ignoreRegistered":"yes"}}'
        ],
    ),
    (
        "delete_local_data_int_flag",
        [
            '{"jsonrpc":"2.0","id":78,"method":"deleteLocalAccountData","params":{"account":"+14155550177","ignoreRegistered":1}}'
        ],
    ),
    (
        "delete_local_data_not_a_number",
        ['{"jsonrpc":"2.0","id":79,"method":"deleteLocalAccountData","params":{"account":"nope"}}'],
    ),
    (
        "delete_local_data_numeric_account",
        ['{"jsonrpc":"2.0","id":80,"method":"deleteLocalAccountData","params":{"account":5}}'],
    ),
    (
        "delete_local_data_unknown_field",
        [
            '{"jsonrpc":"2.0","id":81,"method":"deleteLocalAccountData","params":{"account":"+14155550177","bogus":1}}'
        ],
    ),
]


@pytest.fixture(scope="module")
def real_socket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    base = tmp_path_factory.mktemp("realcli")
    socket = base / "signal-cli.sock"
    proc: subprocess.Popen[bytes] = start_daemon(
        base / "config", socket, "--receive-mode", "manual"
    )
    try:
        yield socket
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
async def sandbox_socket(tmp_path: Path) -> AsyncIterator[Path]:
    daemon = SandboxDaemon(tmp_path / "data", receive_mode="manual")
    socket = tmp_path / "sandbox.sock"
    await daemon.start_unix(socket)
    yield socket
    await daemon.close()


async def _exchange(socket: Path, lines: list[str]) -> list[object]:
    reader, writer = await asyncio.open_unix_connection(str(socket))
    answers: list[object] = []
    try:
        for line in lines:
            writer.write(line.encode() + b"\n")
            await writer.drain()
            if line.startswith('{"jsonrpc":"2.0","method"'):
                continue  # a notification: nothing comes back
            answers.append(json.loads(await asyncio.wait_for(reader.readline(), 20)))
    finally:
        writer.close()
    return answers


def _keyed(answers: list[object]) -> list[object]:
    # Batch entries run concurrently in signal-cli, so a batch answer is compared by id.
    return [
        sorted(a, key=lambda r: json.dumps(r.get("id"))) if isinstance(a, list) else a
        for a in answers
    ]


@pytest.mark.parametrize("lines", [c[1] for c in CASES], ids=[c[0] for c in CASES])
async def test_sandbox_answers_like_signal_cli(
    real_socket: Path, sandbox_socket: Path, lines: list[str]
) -> None:
    # A subscription counter is process-wide in both; each case connects fresh, and the
    # subscription case relies on being the only one subscribing on both daemons.
    expected = await _exchange(real_socket, lines)
    actual = await _exchange(sandbox_socket, lines)
    assert _keyed(actual) == _keyed(expected)


async def test_line_nested_too_deep_closes_the_connection_like_signal_cli(
    real_socket: Path, sandbox_socket: Path
) -> None:
    nested = "[" * 5000 + "]" * 5000
    line = '{"jsonrpc":"2.0","id":1,"method":"version","params":{"x":' + nested + "}}\n"
    for socket in (real_socket, sandbox_socket):
        reader, writer = await asyncio.open_unix_connection(str(socket), limit=2**20)
        try:
            writer.write(line.encode())
            await writer.drain()
            assert await asyncio.wait_for(reader.read(), 20) == b"", socket
        finally:
            writer.close()
        # The daemon itself goes on serving.
        assert await _exchange(socket, ['{"jsonrpc":"2.0","id":2,"method":"version"}']) == [
            {"jsonrpc": "2.0", "result": {"version": "0.13.19"}, "id": 2}
        ]


# Methods signal-cli added in 0.14 that the sandbox models (as `../shared/spec` documents them).
# 0.13.19 does not know them: when this test fails, the oracle has been upgraded and these
# methods can join CASES above.
NEWER_METHODS = [
    "sendPollCreate",
    "sendPollVote",
    "sendPollTerminate",
    "sendPinMessage",
    "sendUnpinMessage",
]


@pytest.mark.parametrize("method", NEWER_METHODS)
async def test_signal_cli_0_13_lacks_the_newer_methods_the_sandbox_models(
    real_socket: Path, sandbox_socket: Path, method: str
) -> None:
    line = json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": method, "params": {"account": "+14155550177"}}
    )
    assert await _exchange(real_socket, [line]) == [
        {
            "jsonrpc": "2.0",
            "error": {"code": -32601, "message": "Method not implemented", "data": None},
            "id": 1,
        }
    ]
    # The sandbox has the method, so what it refuses is the unknown account.
    assert await _exchange(sandbox_socket, [line]) == [
        {
            "jsonrpc": "2.0",
            "error": {"code": -32602, "message": "Specified account does not exist", "data": None},
            "id": 1,
        }
    ]
