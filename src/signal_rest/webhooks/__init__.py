"""Webhooks: each configured target is a named consumer of the inbox (see `dispatcher`)."""
