from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "evaluation"
    verbose_name = "Likert evaluation"

    def ready(self) -> None:
        from evaluation import receivers  # noqa: F401  (connects the audit receivers)
