"""The public surface: routes against the Go project's list, the documented settings."""

from __future__ import annotations

import re
from pathlib import Path

from signal_rest.app import create_app
from signal_rest.config import DOC_HEADER, Settings, settings_markdown

ROOT = Path(__file__).resolve().parents[1]
GO_ROUTES = Path(__file__).parent / "data" / "go-routes.txt"
# Routes that signal-cli-rest-api does not have, by prefix: the sandbox controls, named
# consumers, signal-cli's own HTTP API (`daemon --http`) and the Prometheus metrics.
OUR_OWN = {"/v1/sandbox/", "/api/v1/", "/v1/consumers", "/metrics"}


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


def test_the_routes_are_exactly_the_go_projects(tmp_path: Path) -> None:
    # Every route of signal-cli-rest-api (its swagger plus GET /v1/search, which its router
    # serves), and none it does not have outside /v1/sandbox/.
    ours = _our_routes(tmp_path)
    go = _go_routes()
    assert (sorted(go - ours), sorted(ours - go)) == ([], [])
    assert len(go) == 64


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
