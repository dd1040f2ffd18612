"""Turning a send request into signal-cli `send` calls and their results into the 201 body.

A request may name several groups, phone numbers/UUIDs and usernames at once; signal-cli sends to
one group per call, so there is one call per group, one for all numbers and one for all usernames
(the Go project rejects such mixes). Each call gives one entry of the `/v2/send` array:
`{"timestamp": "<ms>"}`, plus `"errors": {"recipients": [...]}` for recipients that failed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from signal_rest.domain.groupids import internal_to_rest
from signal_rest.errors import RateLimited, RpcError, SignalApiError
from signal_rest.jsonrpc.client import RpcClient

__all__ = ["SendTarget", "entry_from_result", "send_all", "targets_for"]


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


def _failed_recipients(results: Any) -> list[dict[str, str]]:
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
    failed = _failed_recipients(result.get("results"))
    if failed:
        entry["errors"] = {"recipients": failed}
    return entry


def _response_of(exc: SignalApiError) -> dict[str, Any] | None:
    """The partial SendResult signal-cli attaches to a send that reached nobody."""
    data = exc.data if isinstance(exc, RpcError) else None
    response = data.get("response") if isinstance(data, dict) else None
    return response if isinstance(response, dict) else None


def _explained(exc: RpcError) -> RpcError:
    """A send that reached nobody: say who failed and why, keeping signal-cli's text first."""
    response = _response_of(exc)
    failed = _failed_recipients(response.get("results")) if response else []
    if not failed or isinstance(exc, RateLimited):
        return exc
    detail = ", ".join(
        f"{f.get('number') or f.get('uuid') or f.get('username')}: {f['reason']}" for f in failed
    )
    return RpcError(exc.code, f"{exc.message} ({detail})", exc.data)


async def send_all(
    rpc: RpcClient,
    method: str,
    base: dict[str, Any],
    targets: list[SendTarget],
    *,
    account: str,
) -> list[dict[str, Any]]:
    """Run one call per target concurrently; the 201 entries in target order.

    When every call fails, the first failure is raised. When some succeed, a failed target's
    entry is `{"timestamp": …}` with its per-recipient errors (signal-cli reported them), or
    `{"error": "<text>", "recipients": [<target>]}` — never silently dropped.
    """
    outcomes = await asyncio.gather(
        *(rpc.call(method, {**base, **target.params}) for target in targets),
        return_exceptions=True,
    )
    entries: list[dict[str, Any]] = []
    failures: list[SignalApiError] = []
    for target, outcome in zip(targets, outcomes, strict=True):
        if isinstance(outcome, RateLimited):
            outcome.account = account
        if isinstance(outcome, RpcError):
            outcome = _explained(outcome)
        if isinstance(outcome, SignalApiError):
            failures.append(outcome)
            response = _response_of(outcome)
            if response is not None:
                entries.append(entry_from_result(response))
            else:
                entries.append({"error": outcome.message, "recipients": [target.label]})
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            entries.append(entry_from_result(outcome))
    if failures and len(failures) == len(targets):
        raise failures[0]
    return entries
