"""Model readers from OpenAI-compatible APIs.

Modules: ``keys`` (API keys from the environment or a secrets file), ``client`` (clients and
retries), ``prompts`` (templates, request bodies, images, token estimates), ``parsing``
(answers to outcomes), ``runner`` (direct requests), ``batch`` (the Batch API), ``finetune``
(training-set export and jobs), ``services`` (runs: create, stop, resume, dispatch),
``selectors`` (progress and listings), ``tasks`` (Celery tasks). See docs/generation.md.
"""
