"""The Swagger UI at /swagger/index.html, opened in a real headless Chromium: it renders the
document the service serves, with nothing from elsewhere, and "Try it out" reaches this service.
"""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Browser, Locator, Page, expect

from signal_rest import __version__
from tests.support.browser import open_page
from tests.support.flows import ALICE, BOB, receive_until
from tests.support.service import RunningService
from tests.support.shapes import received_text


def _open_docs(page: Page, service: RunningService) -> None:
    page.goto(f"{service.url}/swagger/index.html")
    page.locator(".opblock").first.wait_for()


def _operation(page: Page, operation_id: str) -> Locator:
    # Swagger UI gives each operation the id operations-<tag>-<operationId>.
    return page.locator(f".opblock[id$='-{operation_id}']")


def _try_it_out(operation: Locator, body: dict[str, Any] | None = None) -> tuple[str, Any]:
    """Expand `operation`, "Try it out", fill in the body, "Execute": the status and the JSON
    body Swagger UI shows for the answer."""
    operation.locator(".opblock-summary-control").click()
    operation.locator(".try-out__btn").click()
    if body is not None:
        operation.locator("textarea.body-param__text").fill(json.dumps(body))
    operation.locator("button.execute").click()
    answer = operation.locator(".live-responses-table .response")
    answer.wait_for()
    shown = answer.locator(".response-col_description pre.microlight").first.inner_text()
    return answer.locator(".response-col_status").inner_text(), json.loads(shown)


def test_swagger_ui_renders_every_operation_of_the_document(
    service: RunningService, browser: Browser
) -> None:
    document = service.client.get("/openapi.json").json()
    operations = {
        (method.upper(), path) for path, methods in document["paths"].items() for method in methods
    }

    with open_page(browser) as (page, problems):
        _open_docs(page, service)
        expect(page.locator(".opblock")).to_have_count(len(operations))
        rendered = page.eval_on_selector_all(
            ".opblock",
            """blocks => blocks.map(block => [
                block.querySelector('.opblock-summary-method').textContent,
                block.querySelector('.opblock-summary [data-path]').dataset.path,
            ])""",
        )
        title = page.locator(".info .title").evaluate("title => title.firstChild.textContent")
        stamps = [text.strip() for text in page.locator(".info .title .version").all_inner_texts()]
        refusals = page.get_by_text("Unable to render").count()

    assert {tuple(pair) for pair in rendered} == operations
    assert len(rendered) == len(operations)
    assert {("POST", "/v2/send"), ("GET", "/v1/receive/{number}")} <= operations
    assert (title.strip(), stamps, refusals) == ("signal-rest", [__version__, "OAS 3.1"], 0)
    assert problems == []


def test_swagger_ui_try_it_out_gets_about_from_this_service(
    service: RunningService, browser: Browser
) -> None:
    with open_page(browser) as (page, problems):
        _open_docs(page, service)
        operation = _operation(page, "about_v1_about_get")
        answer = _try_it_out(operation)
        url = operation.locator(".request-url pre").inner_text()

    assert url == f"{service.url}/v1/about"
    assert answer == ("200", service.client.get("/v1/about").json())
    assert problems == []


def test_swagger_ui_try_it_out_sends_a_message(accounts: RunningService, browser: Browser) -> None:
    # A POST from the page carries its Origin, which the edge takes as the service's own.
    with open_page(browser) as (page, problems):
        _open_docs(page, accounts)
        status, body = _try_it_out(
            _operation(page, "send_v2_v2_send_post"),
            {"number": ALICE, "recipients": [BOB], "message": "Hello from the docs"},
        )

    assert (status, body) == ("201", [{"timestamp": body[0]["timestamp"]}])
    ts = int(body[0]["timestamp"])
    [message] = receive_until(accounts.client, BOB, 1)
    assert message == received_text(
        message, account=BOB, source=ALICE, ts=ts, text="Hello from the docs"
    )
    assert problems == []
