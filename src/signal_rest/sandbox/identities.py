"""Identity keys, safety numbers and trust, as signal-cli keeps them for each local account.

Every number on the network has one identity key (33 bytes, 0x05 + 32 random ones), made when
the number is first seen and replaced when the user reinstalls Signal (`sandbox.reinstall`).
A local account stores the key it last saw for each contact with a trust level; it sees a key
when it sends to or receives from that contact. What it does with a key it has not stored
follows signal-cli's `--trust-new-identities` (the daemon's mode, or the account's own):

    on-first-use  the first key is TRUSTED_UNVERIFIED; a changed key is stored UNTRUSTED
    always        every new key is TRUSTED_UNVERIFIED, and keys are always trusted
    never         every new key is stored UNTRUSTED until `trust`

Sends to a contact whose key is not trusted fail with IDENTITY_FAILURE; envelopes from one
arrive as an UntrustedIdentityException without content. Safety numbers and the scannable form
are computed as libsignal does (NumericFingerprintGenerator, version 2 over the ACIs, 5200
iterations), so both sides of a conversation see the same 60 digits.
"""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from typing import TYPE_CHECKING, Any

from .errors import RpcError
from .store import now_ms

if TYPE_CHECKING:
    from .network import Network

TRUST_MODES = ("on-first-use", "always", "never")
DEFAULT_MODE = "on-first-use"
UNTRUSTED = "UNTRUSTED"
TRUSTED_UNVERIFIED = "TRUSTED_UNVERIFIED"
TRUSTED_VERIFIED = "TRUSTED_VERIFIED"
IDENTITY_FAILURE_CODE = -4
UNTRUSTED_SEND = "Failed to send message due to untrusted identities"

_ITERATIONS = 5200
_SCANNABLE_VERSION = 2


def _new_key() -> bytes:
    return b"\x05" + os.urandom(32)


def key_of(network: Network, number: str) -> bytes:
    """The identity key `number` has on the network now."""
    row = network.store.one("SELECT key FROM identity_keys WHERE number = ?", number)
    if row is not None:
        return bytes(row["key"])
    key = _new_key()
    network.store.run("INSERT INTO identity_keys (number, key) VALUES (?, ?)", number, key)
    return key


def reinstall(network: Network, number: str) -> bytes:
    """`number` reinstalls Signal: a new identity key, which contacts have not seen yet."""
    key = _new_key()
    network.store.run(
        "INSERT OR REPLACE INTO identity_keys (number, key) VALUES (?, ?)", number, key
    )
    return key


def mode_of(network: Network, account: str) -> str:
    """The trust mode that applies to `account`: its own, else the daemon's."""
    row = network.store.one("SELECT mode FROM trust_modes WHERE account = ?", account)
    return str(row["mode"]) if row is not None else network.trust_new_identities


def set_mode(network: Network, account: str, mode: str | None) -> None:
    """Give `account` its own trust mode (None: the daemon's again)."""
    if mode is None:
        network.store.run("DELETE FROM trust_modes WHERE account = ?", account)
    else:
        network.store.run(
            "INSERT OR REPLACE INTO trust_modes (account, mode) VALUES (?, ?)", account, mode
        )


def _stored(network: Network, account: str, number: str) -> Any:
    return network.store.one(
        "SELECT * FROM identities WHERE account = ? AND number = ?", account, number
    )


def _store(network: Network, account: str, number: str, key: bytes, level: str) -> None:
    network.store.run(
        "INSERT OR REPLACE INTO identities (account, number, key, trust, added) "
        "VALUES (?, ?, ?, ?, ?)",
        account,
        number,
        key,
        level,
        now_ms(),
    )


def _remember_self(network: Network, account: str) -> None:
    # signal-cli stores the account's own key as verified when the account is created.
    key = key_of(network, account)
    row = _stored(network, account, account)
    if row is None or bytes(row["key"]) != key:
        _store(network, account, account, key, TRUSTED_VERIFIED)


def trusts(network: Network, account: str, number: str) -> bool:
    """Whether local `account` may talk to `number` now: it sees `number`'s current key,
    stores it if it is new (libsignal's saveIdentity) and decides as isTrustedIdentity does."""
    if not network.is_local(account) or account == number:
        return True
    key = key_of(network, number)
    mode = mode_of(network, account)
    row = _stored(network, account, number)
    if row is None or bytes(row["key"]) != key:
        first = row is None
        trusted = mode == "always" or (mode == "on-first-use" and first)
        _store(network, account, number, key, TRUSTED_UNVERIFIED if trusted else UNTRUSTED)
        return trusted
    return mode == "always" or str(row["trust"]) != UNTRUSTED


def _fingerprint_half(key: bytes, aci: str) -> bytes:
    stable = uuid.UUID(aci).bytes
    digest = (0).to_bytes(2, "big") + key + stable
    for _ in range(_ITERATIONS):
        digest = hashlib.sha512(digest + key).digest()
    return digest


def _digits(half: bytes) -> str:
    return "".join(
        f"{int.from_bytes(half[i : i + 5], 'big') % 100000:05d}" for i in range(0, 30, 5)
    )


def _scannable(local: bytes, remote: bytes) -> bytes:
    def logical(content: bytes) -> bytes:
        return b"\x0a\x20" + content[:32]

    one, other = logical(local), logical(remote)
    return (
        bytes([0x08, _SCANNABLE_VERSION])
        + bytes([0x12, len(one)])
        + one
        + bytes([0x1A, len(other)])
        + other
    )


def safety_numbers(network: Network, account: str, number: str, key: bytes) -> tuple[str, bytes]:
    """The 60-digit safety number and the scannable bytes between `account` and `number`
    (whose key is `key`), from `account`'s side."""
    local = _fingerprint_half(key_of(network, account), network.uuid_of(account))
    remote = _fingerprint_half(key, network.uuid_of(number))
    mine, theirs = _digits(local), _digits(remote)
    digits = mine + theirs if mine <= theirs else theirs + mine
    return digits, _scannable(local, remote)


def _spaced(digits: str) -> str:
    return " ".join(digits[i : i + 5] for i in range(0, len(digits), 5))


def listing(network: Network, account: str, number: str | None = None) -> list[dict[str, Any]]:
    """signal-cli's listIdentities result for `account` (only `number` when given)."""
    _remember_self(network, account)
    if number is None:
        rows = network.store.all(
            # the own key first: signal-cli stores it when the account is created
            "SELECT * FROM identities WHERE account = ? ORDER BY number != account, rowid",
            account,
        )
    else:
        row = _stored(network, account, number)
        rows = [] if row is None else [row]
    out = []
    for row in rows:
        key = bytes(row["key"])
        digits, scannable = safety_numbers(network, account, str(row["number"]), key)
        out.append(
            {
                "number": row["number"],
                "uuid": network.uuid_of(str(row["number"])),
                "fingerprint": " ".join(f"{b:02x}" for b in key),
                "safetyNumber": _spaced(digits),
                "scannableSafetyNumber": base64.b64encode(scannable).decode(),
                "trustLevel": row["trust"],
                "addedTimestamp": int(row["added"]),
            }
        )
    return out


def parse_code(code: str) -> tuple[str, Any]:
    """IdentityVerificationCode.parse: a hex fingerprint (66 chars), a safety number (60), or
    the base64 of a scanned QR code; spaces are dropped. ValueError when none fits."""
    from .recipients import java_b64decode  # recipients imports the network, which imports us

    code = code.replace(" ", "")
    if len(code) == 66:
        return "fingerprint", bytes.fromhex(code.lower())
    if len(code) == 60:
        return "safety_number", code
    return "scannable", java_b64decode(code)


def _matches(
    network: Network, account: str, number: str, key: bytes, code: tuple[str, Any]
) -> bool:
    kind, value = code
    if kind == "fingerprint":
        return bool(value == key)
    digits, scannable = safety_numbers(network, account, number, key)
    if kind == "safety_number":
        return bool(value == digits)
    # The scanned code comes from the other phone: its halves are the other way round.
    local, remote = scannable[4:38], scannable[40:74]
    theirs = scannable[:2] + bytes([0x12, len(remote)]) + remote + bytes([0x1A, len(local)]) + local
    return bool(value == theirs)


def trust(network: Network, account: str, number: str, code: tuple[str, Any] | None) -> bool:
    """Trust `number`'s stored key: any (code None: trustAllKnownKeys, TRUSTED_UNVERIFIED) or
    only the one `code` verifies (TRUSTED_VERIFIED). False when there is none to trust."""
    row = _stored(network, account, number)
    if row is None:
        return False
    key = bytes(row["key"])
    if code is not None and not _matches(network, account, number, key, code):
        return False
    level = TRUSTED_UNVERIFIED if code is None else TRUSTED_VERIFIED
    network.store.run(
        "UPDATE identities SET trust = ? WHERE account = ? AND number = ?", level, account, number
    )
    return True


def untrusted_error(outcome: dict[str, Any]) -> RpcError:
    return RpcError(IDENTITY_FAILURE_CODE, UNTRUSTED_SEND, {"response": outcome})
