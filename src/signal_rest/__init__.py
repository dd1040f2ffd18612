"""signal-rest: the signal-cli-rest-api wire format over signal-cli's JSON-RPC daemon."""

__version__ = "0.1.0"

# The signal-cli-rest-api release whose wire format this service speaks; clients gate on it.
API_COMPAT_VERSION = "0.101"
