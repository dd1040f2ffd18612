"""The console at `/`: its HTML routes over real HTTP, and the page in a real headless Chromium
(tests/support/browser.py) on the sandbox, with ALICE and BOB registered."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from signal_rest import __version__
from signal_rest.auth.guard import NO_TOKEN
from tests.support.browser import open_page
from tests.support.flows import ALICE, BOB, receive_until
from tests.support.service import RunningService, start_service
from tests.support.shapes import data_message, received, received_text
from tests.support.tokens import bearer, create_token

CAROL = "+4915100000003"  # an outside Signal user
DAVE = "+4915100000004"  # another
SCRIPT = "<script>document.title = 'owned'</script><b>bold?</b>"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def page_headers(headers: dict[str, str]) -> dict[str, str]:
    return {name: headers.get(name, "") for name in PAGE_HEADERS}


def send_from_outside(service: RunningService, sender: str, to: str, text: str) -> int:
    body = {"from": sender, "recipients": [to], "message": text}
    response = service.client.post("/v1/sandbox/send", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["timestamp"])


DEPTHS = re.compile(r'<td class="number">([^<]*)</td><td class="depth">(\d+)</td>')


def depths_once(service: RunningService, expected: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The status part's (account, depth) rows once they are `expected` (messages reach the
    inbox just after the sandbox's send answers), or as they are after 10 s."""
    deadline = time.monotonic() + 10
    while True:
        response = service.client.get("/console/parts/status")
        assert response.status_code == 200, response.text
        depths: list[tuple[str, str]] = DEPTHS.findall(response.text)
        if depths == expected or time.monotonic() > deadline:
            return depths


def send_as_account(service: RunningService, number: str, to: str, text: str) -> None:
    body = {"number": number, "recipients": [to], "message": text}
    response = service.client.post("/v2/send", json=body)
    assert response.status_code == 201, response.text


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    with open_page(browser) as opened:
        yield opened


# The HTML routes.


def test_console_page_is_html_with_its_protections(accounts: RunningService) -> None:
    response = accounts.client.get("/")

    assert response.status_code == 200
    assert page_headers(dict(response.headers)) == PAGE_HEADERS
    assert '<body data-sandbox="true" data-tokens="off">' in response.text
    assert 'id="chat-form"' in response.text
    # The shell shows nothing of the service's state: the parts do.
    assert ALICE not in response.text


@pytest.mark.parametrize(
    ("path", "media_type"),
    [("/console/console.js", "text/javascript"), ("/console/console.css", "text/css")],
    ids=["script", "style"],
)
def test_console_assets_are_served(service: RunningService, path: str, media_type: str) -> None:
    response = service.client.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"] == f"{media_type}; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert len(response.content) > 500


def test_status_part_shows_service_accounts_and_depth(accounts: RunningService) -> None:
    send_from_outside(accounts, CAROL, BOB, "one")
    send_from_outside(accounts, CAROL, BOB, "two")

    response = accounts.client.get("/console/parts/status")

    assert response.status_code == 200
    assert page_headers(dict(response.headers)) == PAGE_HEADERS
    text = response.text
    assert '<dd id="health" class="ok">ok: signal-cli answers</dd>' in text
    assert '<dd id="backend">sandbox: the simulated Signal network, in this process</dd>' in text
    assert f'<dd id="version">{__version__}</dd>' in text
    assert '<dd id="signal-cli-version">0.13.19</dd>' in text
    assert depths_once(accounts, [(ALICE, "0"), (BOB, "2")]) == [(ALICE, "0"), (BOB, "2")]
    # Shown, not taken: BOB's messages still wait for his clients.
    assert len(receive_until(accounts.client, BOB, 2)) == 2


def test_chat_part_escapes_what_it_shows(accounts: RunningService) -> None:
    send_as_account(accounts, ALICE, CAROL, SCRIPT)

    response = accounts.client.get("/console/parts/chat", params={"user": CAROL})

    assert response.status_code == 200
    assert "<script>" not in response.text and "<b>" not in response.text
    assert (
        '<span class="text">&lt;script&gt;document.title = &#x27;owned&#x27;&lt;/script&gt;'
        "&lt;b&gt;bold?&lt;/b&gt;</span>" in response.text
    )


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/console/parts/link", "Please provide a name for the device"),
        ("/console/parts/chat", "Please provide the outside user's number in 'user'"),
        (
            "/console/parts/chat?user=carol",
            "Invalid number 'carol': expected E.164, e.g. +14155550100",
        ),
    ],
    ids=["link-without-name", "chat-without-user", "chat-with-a-name"],
)
def test_parts_refuse_missing_or_bad_input(service: RunningService, path: str, error: str) -> None:
    response = service.client.get(path)

    assert (response.status_code, response.json()) == (400, {"error": error})


def test_parts_need_an_admin_token_once_tokens_exist(accounts: RunningService) -> None:
    data_dir = accounts.settings.data_dir
    admin = create_token(data_dir, "console", "--scope", "admin")
    sender = create_token(data_dir, "sender", "--scope", "send")

    page = accounts.client.get("/")
    without = accounts.client.get("/console/parts/status")
    wrong_scope = accounts.client.get("/console/parts/status", headers=bearer(sender))
    with_token = accounts.client.get("/console/parts/status", headers=bearer(admin))

    assert page.status_code == 200
    assert 'data-tokens="on"' in page.text and ALICE not in page.text
    assert (without.status_code, without.json()) == (401, {"error": NO_TOKEN})
    assert (wrong_scope.status_code, wrong_scope.json()) == (
        403,
        {
            "error": "This API token may not use this route: it needs the 'admin' scope "
            "(the token has send)"
        },
    )
    assert with_token.status_code == 200 and ALICE in with_token.text


def test_status_part_shows_only_the_accounts_of_the_token(accounts: RunningService) -> None:
    for_bob = create_token(accounts.settings.data_dir, "bob", "--scope", "admin", "--account", BOB)

    response = accounts.client.get("/console/parts/status", headers=bearer(for_bob))

    assert response.status_code == 200
    assert re.findall(r'<td class="number">([^<]*)</td>', response.text) == [BOB]


def test_console_in_front_of_an_unreachable_daemon_says_so(tmp_path: Path) -> None:
    socket = tmp_path / "none.sock"
    service = start_service(tmp_path / "data", sandbox=False, signal_cli_url=f"unix://{socket}")
    try:
        page = service.client.get("/")
        status = service.client.get("/console/parts/status")
        chat = service.client.get("/console/parts/chat", params={"user": CAROL})
    finally:
        service.stop()

    assert page.status_code == 200
    assert '<body data-sandbox="false" data-tokens="off">' in page.text
    assert 'id="chat-form"' not in page.text
    assert status.status_code == 200
    unreachable = "signal-cli is not reachable (no socket at the configured path); retrying"
    assert f'<dd id="health" class="problem">{unreachable}</dd>' in status.text
    assert f'<dd id="backend">signal-cli daemon at unix://{socket}</dd>' in status.text
    assert '<dd id="signal-cli-version">unknown</dd>' in status.text
    assert f'<p class="problem">Couldn&#x27;t list the accounts: {unreachable}</p>' in status.text
    assert (chat.status_code, chat.json()) == (
        404,
        {"error": "The console's chat exists only when signal-rest runs with --sandbox"},
    )


# The page in a browser.


def test_console_shows_health_accounts_and_depth_as_it_changes(
    accounts: RunningService, page: tuple[Page, list[str]]
) -> None:
    tab, problems = page

    tab.goto(f"{accounts.url}/?refresh=0.2")

    expect(tab.locator("#health")).to_have_text("ok: signal-cli answers")
    expect(tab.locator("#backend")).to_have_text(
        "sandbox: the simulated Signal network, in this process"
    )
    expect(tab.locator("#version")).to_have_text(__version__)
    expect(tab.locator("#signal-cli-version")).to_have_text("0.13.19")
    expect(tab.locator("#accounts td.number")).to_have_text([ALICE, BOB])
    expect(tab.locator(f'tr[data-account="{ALICE}"] td.depth')).to_have_text("0")

    send_from_outside(accounts, CAROL, ALICE, "count me")

    expect(tab.locator(f'tr[data-account="{ALICE}"] td.depth')).to_have_text("1")
    expect(tab.locator(f'tr[data-account="{BOB}"] td.depth')).to_have_text("0")
    # The console only counted it: the message is still there for the account's programs.
    [message] = receive_until(accounts.client, ALICE, 1)
    assert message["envelope"]["dataMessage"]["message"] == "count me"
    assert problems == []


LINK_URI = re.compile(r"^sgnl://linkdevice\?uuid=[^&]+&pub_key=[^&]+$")
# The QR image is loaded and decoded: a real PNG, as large as a phone needs.
QR_DECODED = (
    "(() => { const img = document.getElementById('link-qr');"
    " return img !== null && img.complete && img.naturalWidth >= 256; })()"
)


def test_console_shows_a_link_code_and_renews_it(
    accounts: RunningService, page: tuple[Page, list[str]]
) -> None:
    tab, problems = page
    tab.goto(f"{accounts.url}/?link_refresh=0.5")
    expect(tab.locator("#link-every")).to_have_text("0.5")

    tab.fill("#device-name", "my laptop")
    tab.click("#link-start")

    code = tab.locator("#link-code")
    expect(code).to_have_attribute("data-uri", LINK_URI)
    first = code.get_attribute("data-uri")
    tab.wait_for_function(QR_DECODED)
    expect(code).not_to_have_attribute("data-uri", first or "")
    tab.wait_for_function(QR_DECODED)
    # One look at the code shown (it may be renewed between two): the URI under the image is its.
    renewed, caption = tab.evaluate(
        "() => [document.getElementById('link-code').dataset.uri,"
        " document.getElementById('link-uri').textContent]"
    )
    assert LINK_URI.match(renewed) and caption == renewed and renewed != first
    assert problems == []

    # The code on the page links: the phone of DAVE (a Signal user) scans it.
    tab.click("#link-stop")
    expect(tab.locator("#link-code")).to_have_count(0)
    body = {"device_link_uri": renewed, "number": DAVE}
    assert accounts.client.post("/v1/sandbox/link", json=body).status_code == 204
    expect(tab.locator("#accounts td.number")).to_contain_text([DAVE], timeout=15_000)
    assert problems == []


def test_console_stops_renewing_the_link_code_after_twenty_times(
    accounts: RunningService, page: tuple[Page, list[str]]
) -> None:
    tab, problems = page
    tab.goto(f"{accounts.url}/?link_refresh=0.05")

    tab.click("#link-start")

    expect(tab.locator("#link")).to_have_text(
        "Stopped renewing the code: press \u201cShow a link code\u201d again.", timeout=20_000
    )
    expect(tab.locator("#link-stop")).to_be_hidden()
    assert problems == []


def test_chat_sends_to_an_account_and_shows_what_it_sent_back(
    accounts: RunningService, page: tuple[Page, list[str]]
) -> None:
    tab, problems = page
    tab.goto(f"{accounts.url}/?refresh=0.2")
    expect(tab.locator("#chat")).to_contain_text("Nothing received by +4915100000099 yet.")

    tab.fill("#chat-from", CAROL)
    tab.locator("#chat-from").dispatch_event("change")
    expect(tab.locator("#chat-who")).to_have_text(CAROL)
    tab.fill("#chat-to", ALICE)
    tab.fill("#chat-message", "hello from the console")
    tab.click("#chat-send")

    result = tab.locator("#chat-result")
    expect(result).to_have_text(re.compile(r"^Sent \(timestamp \d+\)\.$"))
    ts = int(re.findall(r"\d+", result.inner_text())[0])
    expect(tab.locator("#chat-sent .text")).to_have_text(["hello from the console"])
    [message] = receive_until(accounts.client, ALICE, 1)
    assert message == received_text(
        message, account=ALICE, source=CAROL, ts=ts, text="hello from the console"
    )

    send_as_account(accounts, ALICE, CAROL, "hello back")

    expect(tab.locator("#chat-received .text")).to_contain_text(["hello back"])
    expect(tab.locator("#chat-received .from").last).to_have_text(ALICE)
    assert problems == []


def test_chat_sends_to_a_group_the_outside_user_is_in(
    accounts: RunningService, page: tuple[Page, list[str]]
) -> None:
    tab, problems = page
    body = {"name": "Team", "members": [BOB, CAROL]}
    created = accounts.client.post(f"/v1/groups/{ALICE}", json=body)
    assert created.status_code == 201, created.text
    group_id = created.json()["id"]
    [group] = [g for g in accounts.client.get(f"/v1/groups/{ALICE}").json() if g["id"] == group_id]
    tab.goto(f"{accounts.url}/?refresh=0.2")

    tab.fill("#chat-from", CAROL)
    tab.fill("#chat-to", group_id)
    tab.fill("#chat-message", "to the team")
    tab.click("#chat-send")

    result = tab.locator("#chat-result")
    expect(result).to_have_text(re.compile(r"^Sent \(timestamp \d+\)\.$"))
    ts = int(re.findall(r"\d+", result.inner_text())[0])
    [message] = receive_until(accounts.client, BOB, 1)
    group_info = {"groupId": group["internal_id"], "groupName": "Team", "revision": 0}
    data = data_message(ts, "to the team", groupInfo={**group_info, "type": "DELIVER"})
    assert message == received(message, account=BOB, source=CAROL, ts=ts, data=data)
    # What CAROL got when ALICE made the group shows in the chat, under the group.
    expect(tab.locator("#chat-who")).to_have_text(CAROL)
    expect(tab.locator("#chat-received .meta").first).to_contain_text(
        f"in group {group['internal_id']}"
    )
    assert problems == []


def test_chat_shows_markup_in_messages_as_text(
    accounts: RunningService, page: tuple[Page, list[str]]
) -> None:
    tab, problems = page
    tab.goto(f"{accounts.url}/?refresh=0.2")
    tab.fill("#chat-from", CAROL)
    tab.locator("#chat-from").dispatch_event("change")

    send_as_account(accounts, ALICE, CAROL, SCRIPT)
    tab.fill("#chat-to", BOB)
    tab.fill("#chat-message", SCRIPT)
    tab.click("#chat-send")

    expect(tab.locator("#chat-received .text")).to_contain_text([SCRIPT])
    expect(tab.locator("#chat-sent .text")).to_have_text([SCRIPT])
    assert tab.locator("#chat script, #chat b, #chat-sent script, #chat-sent b").count() == 0
    assert tab.title() == "signal-rest console"
    assert problems == []


def test_console_asks_for_a_token_and_works_with_one(
    accounts: RunningService, page: tuple[Page, list[str]]
) -> None:
    tab, problems = page
    secret = create_token(accounts.settings.data_dir, "console", "--scope", "admin")

    tab.goto(f"{accounts.url}/?refresh=0.2")

    expect(tab.locator("#token h2")).to_have_text("API token needed")
    expect(tab.locator("#token")).to_be_visible()
    expect(tab.locator("#console")).to_be_hidden()
    assert problems == []

    tab.fill("#token-input", secret)
    tab.click("#token form button")

    expect(tab.locator("#health")).to_have_text("ok: signal-cli answers")
    expect(tab.locator("#token")).to_be_hidden()
    tab.fill("#chat-from", CAROL)
    tab.fill("#chat-to", BOB)
    tab.fill("#chat-message", "with a token")
    tab.click("#chat-send")
    expect(tab.locator("#chat-sent .text")).to_have_text(["with a token"])
    reader = create_token(accounts.settings.data_dir, "reader", "--scope", "receive")
    with httpx.Client(base_url=accounts.url, headers=bearer(reader)) as client:
        messages = receive_until(client, BOB, 1)
    assert [m["envelope"]["dataMessage"]["message"] for m in messages] == ["with a token"]
    assert problems == []


def test_console_takes_a_token_from_the_address_and_hides_it(
    accounts: RunningService, page: tuple[Page, list[str]]
) -> None:
    tab, problems = page
    secret = create_token(accounts.settings.data_dir, "console", "--scope", "admin")

    tab.goto(f"{accounts.url}/?refresh=0.2#token={secret}")

    expect(tab.locator("#accounts td.number")).to_have_text([ALICE, BOB])
    assert tab.url == f"{accounts.url}/?refresh=0.2"
    assert problems == []


def test_console_asks_again_for_a_refused_token(
    accounts: RunningService, page: tuple[Page, list[str]]
) -> None:
    tab, problems = page
    create_token(accounts.settings.data_dir, "console", "--scope", "admin")

    tab.goto(f"{accounts.url}/#token=srt_not-a-token")

    expect(tab.locator("#token-problem")).to_have_text("Invalid or revoked API token")
    expect(tab.locator("#console")).to_be_hidden()
    expect(tab.locator("#token-input")).to_be_focused()
    # The browser itself logs each refused request; nothing else went wrong.
    refused = "console: Failed to load resource: the server responded with a status of 401 "
    assert problems and set(problems) == {refused + "(Unauthorized)"}
