"""政策助手 (Policy Assistant): cited answers about science-and-technology innovation policy.

The layers, each importing only the ones before it: `retrieval` (documents -> passages -> index ->
retrievers -> fusion), `assistant` (query understanding -> rerank -> relevance gate -> answerer),
`evals`, `ui`, `api` (the app, which mounts the UI). Entry points (`assistant.cli`, `evals.cli`) wire
them. Start reading at `assistant.core.Assistant.ask`.
"""
