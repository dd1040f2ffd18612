"""The pure rules of a send: which signal-cli calls a request makes, and the 201 body of each.

A request may name several groups, phone numbers/UUIDs and usernames at once; signal-cli sends to
one group per call, so there is one call per group, one for all numbers and one for all usernames
(the Go project rejects such mixes). Each call gives one entry of the `/v2/send` array:
`{"timestamp": "<ms>"}`, plus `"errors": {"recipients": [...]}` for recipients that failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from signal_rest.domain.groupids import internal_to_rest

__all__ = ["SendTarget", "entry_from_result", "failed_recipients", "targets_for"]


@dataclass(frozen=True)
class SendTarget:
    """The recipient part of one signal-cli send call."""

    params: dict[str, Any]
    label: str  # names the target in error texts

    @classmethod
    def numbers(cls, numbers: list[str]) -> SendTarget:
        return cls({"recipient": numbers}, ", ".join(numbers))

    @classmethod
    def usernames(cls, usernames: list[str]) -> SendTarget:
        return cls({"username": usernames}, ", ".join(usernames))

    @classmethod
    def group(cls, internal_id: str) -> SendTarget:
        return cls({"groupId": internal_id}, internal_to_rest(internal_id))


def targets_for(numbers: list[str], usernames: list[str], groups: list[str]) -> list[SendTarget]:
    # The Go project's order: one send per group, then the numbers, then the usernames.
    targets = [SendTarget.group(g) for g in groups]
    if numbers:
        targets.append(SendTarget.numbers(numbers))
    if usernames:
        targets.append(SendTarget.usernames(usernames))
    return targets


def failed_recipients(results: Any) -> list[dict[str, str]]:
    failed = []
    for result in results if isinstance(results, list) else []:
        if not isinstance(result, dict) or result.get("type") == "SUCCESS":
            continue
        address = result.get("recipientAddress") or {}
        entry = {
            key: str(address[key])
            for key in ("username", "number", "uuid")
            if isinstance(address, dict) and address.get(key)
        }
        entry["reason"] = str(result.get("type"))
        failed.append(entry)
    return failed


def entry_from_result(result: Any) -> dict[str, Any]:
    """One element of the 201 array from a signal-cli SendResult."""
    result = result if isinstance(result, dict) else {}
    entry: dict[str, Any] = {"timestamp": str(result.get("timestamp", ""))}
    failed = failed_recipients(result.get("results"))
    if failed:
        entry["errors"] = {"recipients": failed}
    return entry
