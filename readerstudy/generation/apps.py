"""Model readers from OpenAI-compatible APIs: configs, runs, batch, fine-tuning sets."""

from django.apps import AppConfig


class GenerationConfig(AppConfig):
    name = "readerstudy.generation"
    label = "generation"
    verbose_name = "Model generation"
