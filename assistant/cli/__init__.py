"""The command line (`python -m assistant …`, `policy-assistant`): main.py, and the versions commands
(versions.py)."""
