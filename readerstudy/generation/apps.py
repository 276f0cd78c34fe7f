"""Model readers from OpenAI-compatible APIs: configs, runs, batch, fine-tuning sets."""

from django.apps import AppConfig


class GenerationConfig(AppConfig):
    name = "readerstudy.generation"
    label = "generation"
    verbose_name = "Model generation"

    def ready(self) -> None:
        from readerstudy.generation import checks  # noqa: F401  (registers the system checks)
