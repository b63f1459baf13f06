"""政策助手 (Policy Assistant): cited answers about science-and-technology innovation policy.

The layers, each importing only the ones before it: `retrieval` (documents -> passages -> index ->
retrievers -> fusion), `assistant` (understand -> route -> retrieve -> evidence -> answer), `evals`, `ui`,
`api` (the app, which mounts the UI). Entry points (`assistant.cli.main`, `evals.cli`) wire them.

    from assistant import Assistant
    a = Assistant.from_settings()        # the PA_* environment; loads, or builds, the index
    a.ask("2025年高新技术企业数量目标是多少？")

Start reading at `assistant.core.Assistant.ask`.
"""
from assistant.core import Assistant

__all__ = ["Assistant"]
