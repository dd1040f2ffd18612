"""What every request passes before it reaches a route: request ids and logs, metrics, Origin
and Host rules, time and size limits, API tokens (`signal_rest.auth.guard`). `stack.Edge` makes
them all in one layer (HTTP and websocket alike); the other modules hold the rules."""
