"""The assistant where people already work: shapes shared by the integrations (`records`), Dify's External
Knowledge API minus HTTP (`dify`), and LangChain (`langchain`: `PolicyRetriever`, `policy_tools`).

The MCP server and the Dify route are HTTP edges and live in the API layer (`api/mcp.py`,
`api/routes/dify.py`); all of them call the same public `Assistant` methods as the `/v1` routes.
"""
