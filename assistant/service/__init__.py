"""What the API, the UI and MCP call: the Service around the loaded Assistant (service.py: loading, swaps, the
index poll) and the access checks (access.py: the admin token)."""
