"""`/v1/polls/{number}`: create a poll (POST), vote in one (POST …/vote), end one (DELETE).

    POST /v1/polls/+4915100000001
    {"recipient": "group.…", "question": "Lunch?", "answers": ["Pizza", "Sushi"]}
    → 201 {"timestamp": "1752436809700"}

Bodies, texts and codes are the Go project's; polls need signal-cli 0.14 (an older daemon gets a
501 that says so). A re-vote is counted by Signal apps here, unlike with the Go project.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import Field

from signal_rest.api.body import RequestModel, body_doc, empty_list, parse_json_body, read_body
from signal_rest.api.deps import BackendDep, account
from signal_rest.api.responses import JSONResponse
from signal_rest.api.schemas import BODY, DAEMON, empty, errors, ok
from signal_rest.api.send import RATE_LIMITED, SendResult
from signal_rest.domain.polls import poll_target, poll_timestamp, vote_options
from signal_rest.errors import ValidationError
from signal_rest.services.polls import create_poll, end_poll, vote_in_poll

__all__ = ["router"]

router = APIRouter(tags=["Polls"])

Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]

# 501: a signal-cli older than 0.14 has no polls.
POLL_ERRORS = errors(*BODY, *DAEMON, 501) | RATE_LIMITED


def _missing(field: str) -> ValidationError:
    return ValidationError(f"Couldn't process request - {field} missing")


class CreatePoll(RequestModel):
    recipient: str = ""
    question: str = ""
    answers: list[str] = empty_list()
    allow_multiple_selections: bool = True


class Vote(RequestModel):
    recipient: str = ""
    poll_author: str = ""
    poll_timestamp: str = ""
    selected_answers: list[Int32] = empty_list()


class ClosePoll(RequestModel):
    recipient: str = ""
    poll_timestamp: str = ""


def _timestamp(text: str) -> int:
    if not text:
        raise _missing("poll_timestamp")
    return poll_timestamp(text)


@router.post(
    "/v1/polls/{number}",
    summary="Create a new poll",
    status_code=201,
    openapi_extra=body_doc(CreatePoll),
    response_model=None,
    responses=ok(
        SendResult,
        status=201,
        description="The poll was sent: votes and DELETE name it by its timestamp",
    )
    | POLL_ERRORS,
)
async def create(number: str, request: Request, backend: BackendDep) -> JSONResponse:
    number = account(number)
    body = parse_json_body(CreatePoll, await read_body(request))
    if not body.recipient:
        raise _missing("recipient")
    if not body.question:
        raise _missing("question")
    if not body.answers:
        raise _missing("answers")
    entry = await create_poll(
        backend,
        number,
        poll_target(body.recipient),
        question=body.question,
        answers=body.answers,
        allow_multiple=body.allow_multiple_selections,
    )
    return JSONResponse(entry, status_code=201)


@router.post(
    "/v1/polls/{number}/vote",
    summary="Vote in a poll",
    status_code=204,
    openapi_extra=body_doc(Vote),
    response_class=Response,
    responses=empty(204, "The vote was sent") | POLL_ERRORS,
)
async def vote(number: str, request: Request, backend: BackendDep) -> Response:
    number = account(number)
    body = parse_json_body(Vote, await read_body(request))
    poll_ts = _timestamp(body.poll_timestamp)
    if not body.poll_author:
        raise _missing("poll_author")
    if not body.selected_answers:
        raise _missing("selected_answers")
    options = vote_options(body.selected_answers)
    if not body.recipient:
        raise _missing("recipient")
    await vote_in_poll(
        backend,
        number,
        poll_target(body.recipient),
        poll_author=body.poll_author,
        poll_timestamp=poll_ts,
        options=options,
    )
    return Response(status_code=204)


@router.delete(
    "/v1/polls/{number}",
    summary="Close a poll",
    status_code=204,
    openapi_extra=body_doc(ClosePoll),
    response_class=Response,
    responses=empty(204, "The poll was closed") | POLL_ERRORS,
)
async def close(number: str, request: Request, backend: BackendDep) -> Response:
    number = account(number)
    body = parse_json_body(ClosePoll, await read_body(request))
    poll_ts = _timestamp(body.poll_timestamp)
    if not body.recipient:
        raise _missing("recipient")
    await end_poll(backend, number, poll_target(body.recipient), poll_ts)
    return Response(status_code=204)
