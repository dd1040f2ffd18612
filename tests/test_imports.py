"""What only some paths need is loaded when one of them runs, not with the service.

A module loaded is memory held for as long as the service runs (its code, its tables): httpx
(and the command-line tools it loads) serves only webhook targets over https or a proxy, segno
only QR codes, and the sandbox only a service that runs it in its own process. The webhook
delivery (with h11, its lanes' HTTP) serves only configured webhooks, the daemon supervisor (and
the Java lookup) only a service that starts signal-cli itself, and uvicorn's h11 protocol only
`http_parser = "h11"`. prometheus_client is not loaded at all: its package brings HTTP, WSGI and
gzip servers with it, and the service writes the text format itself (signal_rest.promtext).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ON_SOME_PATHS = (
    "httpx",
    "segno",
    "signal_rest.sandbox",
    "signal_rest.webhooks.dispatcher",
    "h11",
    "signal_rest.jsonrpc.supervisor",
    "signal_rest.java",
    "uvicorn.protocols.http.h11_impl",
    "prometheus_client",
)


def loaded_by(code: str) -> list[str]:
    """Which of ON_SOME_PATHS a fresh interpreter has loaded after running `code`."""
    report = f"print(json.dumps([m for m in {ON_SOME_PATHS!r} if m in sys.modules]))"
    probe = f"import json, sys\n{code}\n{report}"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return list(json.loads(result.stdout.splitlines()[-1]))


def test_the_service_in_front_of_a_daemon_loads_none_of_them(tmp_path: Path) -> None:
    code = (
        "import signal_rest.cli, signal_rest.server\n"
        "from signal_rest.app import create_app\n"
        "from signal_rest.config import Settings\n"
        f"settings = Settings(signal_cli_url='tcp://127.0.0.1:7583', data_dir={str(tmp_path)!r})\n"
        "signal_rest.server.server_config(create_app(settings), settings)"
    )
    assert loaded_by(code) == []


def test_the_sandbox_is_loaded_when_it_runs_in_the_service(tmp_path: Path) -> None:
    code = (
        "from signal_rest.app import create_app\n"
        "from signal_rest.config import Settings\n"
        f"create_app(Settings(sandbox=True, data_dir={str(tmp_path)!r}))"
    )
    assert loaded_by(code) == ["signal_rest.sandbox"]


def test_body_models_and_their_schemas_wait_until_used(tmp_path: Path) -> None:
    # A body model's validator is built by its route's first request, and its JSON Schema by
    # the first OpenAPI document (api/body.py): neither is held by a service that never uses
    # them. Two models are built at import, as another model's default value.
    code = (
        "import json\n"
        "from signal_rest.app import create_app\n"
        "from signal_rest.config import Settings\n"
        "from signal_rest.api.body import RequestModel\n"
        "def models(cls):\n"
        "    for sub in cls.__subclasses__():\n"
        "        yield sub\n"
        "        yield from models(sub)\n"
        f"settings = Settings(signal_cli_url='tcp://127.0.0.1:7583', data_dir={str(tmp_path)!r})\n"
        "app = create_app(settings)\n"
        "built = sorted(m.__name__ for m in models(RequestModel) if m.__pydantic_complete__)\n"
        "send = app.openapi()['paths']['/v2/send']['post']['requestBody']\n"
        "schema = send['content']['application/json']['schema']\n"
        "print(json.dumps([built, sorted(schema['properties'])[:3]]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    built, documented = json.loads(result.stdout.splitlines()[-1])
    assert built == ["LoggingLevel", "Permissions"]
    assert documented == ["base64_attachments", "edit_timestamp", "link_preview"]
