"""The policy library's administration: adding and removing documents (documents.py), versions (versions.py),
backup and restore (backup.py), the old feedback file (feedback.py)."""
