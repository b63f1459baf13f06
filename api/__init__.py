"""HTTP service: FastAPI routes (`/v1/...`), health and metrics, with the Gradio chat mounted at `/ui`.

Create the app with `api.app.create_app(settings)`; `python -m assistant serve` runs it under uvicorn.
"""
