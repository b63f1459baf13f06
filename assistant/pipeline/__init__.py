"""The stages of `Assistant.ask`, in the order they run (one module each; `assistant/core.py` wires them once).

    1. understand.py   understand(question, history) -> Query: validated, follow-up resolved (followup.py),
                       vocabulary applied, terms weighed (assistant.language.terms)
    2. multipart.py    split_question: two subjects in one message -> one Query each (kept only when each part
                       names a subject of its own)
    3. routes.py       Route protocol: the support finder (finder), a document's own metadata (docinfo.py),
                       structure-aware lists (listing.py); each says why it took a question
    4. retrieve.py     the hybrid search's top POOL passages (retrieval.retrievers.hybrid), an optional model reranker
    5. evidence.py     the evidence stage: every sentence's features (features.py, sentences.py), one learned
                       model ranks them, a calibrated threshold refuses; with an LLM its verdict (verdict.py)
    6. extractive.py   the answer: quotes of what the stage ranked first (or llm_answer.py: the passages in the
                       stage's order, checked); compose.py: a refusal with the nearest passages
"""
