"""The layout is the architecture: each layer imports only what sits below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "signal_rest"

# layer -> module prefixes it must never import
FORBIDDEN = {
    "domain": (
        "fastapi",
        "starlette",
        "signal_rest.api",
        "signal_rest.services",
        "signal_rest.backend",
        "signal_rest.jsonrpc",
        "signal_rest.sandbox",
    ),
    "services": ("fastapi", "starlette", "signal_rest.api"),
    "webhooks": (
        "fastapi",
        "starlette",
        "signal_rest.api",
        "signal_rest.services",
        "signal_rest.backend",
        "signal_rest.jsonrpc",
        "signal_rest.sandbox",
    ),
    "sandbox": (
        "fastapi",
        "starlette",
        "signal_rest.api",
        "signal_rest.services",
        "signal_rest.domain",
        "signal_rest.backend",
    ),
    # The benchmark is a client from outside: it reaches the service and the sandbox only
    # over their sockets, as a user's programs do.
    "bench": (
        "fastapi",
        "starlette",
        "signal_rest.api",
        "signal_rest.services",
        "signal_rest.domain",
        "signal_rest.backend",
        "signal_rest.jsonrpc",
        "signal_rest.inbox",
        "signal_rest.sandbox",
        "signal_rest.webhooks",
    ),
}
# Reference servers the benchmark runs as processes of their own, to compare the service with:
# they are what they are measured against, not a way into the service.
REFERENCES = {"bench/idle_app.py"}

# module -> prefixes it may import all the same
EXCEPTIONS = {
    # The throughput figure's reference: a FastAPI hello-world route, served as the service is,
    # and the send latency's floor: a bare ASGI answer in front of it (ASGI's types).
    "bench/hello.py": ("fastapi", "starlette.types"),
    # Its floor: a FastAPI route that only forwards each send to the sandbox's socket.
    "bench/forward.py": ("fastapi",),
}


def _imports(path: Path) -> set[str]:
    """Absolute names of the modules `path` imports, relative imports resolved."""
    package = ["signal_rest", *path.relative_to(PACKAGE).parent.parts]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_from_the_layers_above_it(layer: str) -> None:
    offending = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in (PACKAGE / layer).rglob("*.py")
        if str(path.relative_to(PACKAGE)) not in REFERENCES
        for name in _imports(path)
        if name.startswith(FORBIDDEN[layer])
        and not name.startswith(EXCEPTIONS.get(str(path.relative_to(PACKAGE)), ()))
    }
    assert offending == set()
