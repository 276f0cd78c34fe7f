"""Model readers from OpenAI-compatible APIs.

Modules: ``prompts`` (templates, request bodies, images), ``parsing`` (answers to outcomes),
``runner`` (direct requests), ``batch`` (the Batch API), ``finetune`` (training-set export and
jobs), ``services`` (runs: create, stop, resume, dispatch), ``selectors`` (progress and
listings), ``tasks`` (Celery tasks). The clients, retries, egress allow-list, API keys, JSON
answers and token estimates are ``readerstudy.core.llm`` (shared with the LLM judges of
``evaluation``). See docs/generation.md.
"""
