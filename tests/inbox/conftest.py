"""The inbox tests also talk to a scriptable JSON-RPC peer (the subscription hook)."""

from tests.jsonrpc.conftest import line_server, short_tmp

__all__ = ["line_server", "short_tmp"]
