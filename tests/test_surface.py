"""The public surface: routes against the Go project's list, the documented settings."""

from __future__ import annotations

import re
from pathlib import Path

from signal_rest.app import create_app
from signal_rest.config import DOC_HEADER, Settings, settings_markdown

ROOT = Path(__file__).resolve().parents[1]
GO_ROUTES = Path(__file__).parent / "data" / "go-routes.txt"
OUR_OWN = {"/v1/sandbox/"}  # routes that signal-cli-rest-api does not have, by prefix


def _go_routes() -> set[tuple[str, str]]:
    rows = [line.split() for line in GO_ROUTES.read_text().splitlines() if line[:1] != "#"]
    return {(method, re.sub(r"\{[^}]+\}", "{}", path)) for method, path in rows}


def _our_routes(tmp_path: Path) -> set[tuple[str, str]]:
    spec = create_app(Settings(sandbox=True, data_dir=tmp_path)).openapi()
    return {
        (method.upper(), re.sub(r"\{[^}]+\}", "{}", path))
        for path, operations in spec["paths"].items()
        for method in operations
        if not any(path.startswith(prefix) for prefix in OUR_OWN)
    }


def test_every_route_is_one_of_the_go_projects(tmp_path: Path) -> None:
    ours = _our_routes(tmp_path)
    assert ours <= _go_routes(), ours - _go_routes()
    # The seed routes this service must have.
    assert {
        ("GET", "/v1/about"),
        ("GET", "/v1/health"),
        ("POST", "/v1/register/{}"),
        ("POST", "/v1/register/{}/verify/{}"),
        ("POST", "/v2/send"),
        ("POST", "/v1/send"),
        ("GET", "/v1/receive/{}"),
        ("POST", "/v1/groups/{}"),
        ("GET", "/v1/groups/{}"),
        ("GET", "/v1/groups/{}/{}"),
        ("DELETE", "/v1/groups/{}/{}"),
        ("GET", "/v1/qrcodelink"),
        ("GET", "/v1/accounts"),
    } <= ours


def test_conversation_routes_are_all_here(tmp_path: Path) -> None:
    # Issue 6: reactions, receipts, typing, remote delete, polls, pins, stickers, attachments.
    assert {
        ("POST", "/v1/reactions/{}"),
        ("DELETE", "/v1/reactions/{}"),
        ("POST", "/v1/receipts/{}"),
        ("PUT", "/v1/typing-indicator/{}"),
        ("DELETE", "/v1/typing-indicator/{}"),
        ("DELETE", "/v1/remote-delete/{}"),
        ("POST", "/v1/polls/{}"),
        ("POST", "/v1/polls/{}/vote"),
        ("DELETE", "/v1/polls/{}"),
        ("POST", "/v1/groups/{}/{}/pin-message"),
        ("DELETE", "/v1/groups/{}/{}/pin-message"),
        ("GET", "/v1/groups/{}/{}/avatar"),
        ("GET", "/v1/sticker-packs/{}"),
        ("POST", "/v1/sticker-packs/{}"),
        ("GET", "/v1/attachments"),
        ("GET", "/v1/attachments/{}"),
        ("DELETE", "/v1/attachments/{}"),
    } <= _our_routes(tmp_path)


def test_profile_and_contact_routes_are_all_here(tmp_path: Path) -> None:
    # Issue 7, its profiles and contacts part.
    assert {
        ("PUT", "/v1/profiles/{}"),
        ("GET", "/v1/contacts/{}"),
        ("PUT", "/v1/contacts/{}"),
        ("GET", "/v1/contacts/{}/{}"),
        ("GET", "/v1/contacts/{}/{}/avatar"),
        ("POST", "/v1/contacts/{}/sync"),
    } <= _our_routes(tmp_path)


def test_configuration_doc_is_generated_from_the_settings() -> None:
    documented = (ROOT / "docs" / "configuration.md").read_text()
    assert documented == DOC_HEADER + settings_markdown(), (
        "docs/configuration.md is stale: python -m signal_rest.config > docs/configuration.md"
    )
    for name in Settings.model_fields:
        assert f"| {name} |" in documented


def test_readme_gives_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "./scripts/serve" in readme
    assert "./scripts/test" in readme
    assert (ROOT / "scripts" / "serve").exists() and (ROOT / "scripts" / "test").exists()
