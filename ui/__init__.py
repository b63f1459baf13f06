"""Gradio chat UI, mounted by api.app at /ui."""
