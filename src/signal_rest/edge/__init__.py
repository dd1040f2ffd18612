"""What every request passes before it reaches a route: request ids and logs, Origin and Host
rules, time and size limits, API tokens. Each is a plain ASGI middleware (HTTP and websocket
alike); `signal_rest.app` stacks them in one place."""
