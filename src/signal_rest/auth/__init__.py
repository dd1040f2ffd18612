"""Optional API tokens: stored hashed in the data dir, scoped to route groups and accounts, with
a rate limit each. `tokens` (the store), `limits` (rate limits), `scopes` (the route table's
scopes), `guard` (the token and account checks the edge makes, and those routes make),
`commands` (`signal-rest token`)."""
