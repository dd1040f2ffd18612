"""The JSON-RPC link to signal-cli: transports, the multiplexed client and the daemon supervisor."""
