"""Calling OpenAI-compatible servers, with no model of the platform: connections and clients
(``client``: retries and backoff), where requests may go (``egress``), API keys (``keys``),
an event loop in a thread (``loop``) and JSON answers (``parsing``). Model generation
(readers) and the LLM judges (raters) use it. See docs/generation.md and docs/rating.md."""
