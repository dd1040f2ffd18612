"""Optional API tokens: stored hashed in the data dir, scoped to route groups and accounts, with
a rate limit each. `tokens` (the store), `limits` (rate limits), `scopes` (the route table's
scopes), `guard` (the middleware and the account check), `commands` (`signal-rest token`)."""
