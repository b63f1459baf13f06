"""The language model: the OpenAI-compatible client with retries and error kinds (client.py), the prompts
(prompt.py), and the post-checks an answer must pass before it is shown (postcheck.py)."""
