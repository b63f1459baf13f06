"""政策助手 (Policy Assistant): cited answers about science-and-technology innovation policy.

The layers, each importing only the ones before it: `retrieval` (documents -> passages -> index ->
retrievers -> fusion), `assistant` (understand -> route -> retrieve -> evidence -> answer), `evals`, `ui`,
`api` (the app, which mounts the UI). Entry points (`assistant.cli.main`, `evals.cli`) wire them.

Inside `assistant`, folders name their job:
    pipeline/   the stages of ask, in the order they run (its __init__ lists them)
    language/   how questions and passages are read: term statistics, weighted terms, kinds of value
    llm/        the OpenAI-compatible client, prompts, post-checks
    library/    documents, versions, backup and restore
    records/    the service's database: feedback, question log, curated answers, saved profiles, pushes
    service/    what the API, UI and MCP call; access checks
    cli/        `python -m assistant …`
    finder/     the support finder (政策匹配); integrations/: LangChain, Dify, markup-safe text
    core.py (Assistant: builds the stages once), answer.py, budget.py, settings.py, errors.py

    from assistant import Assistant
    a = Assistant.from_settings()        # the PA_* environment; loads, or builds, the index
    a.ask("2025年高新技术企业数量目标是多少？")

Start reading at `assistant.core.Assistant.ask`.
"""
from assistant.core import Assistant

__all__ = ["Assistant"]
