from django.apps import AppConfig


class ReaderstudyConfig(AppConfig):
    name = "readerstudy"
    verbose_name = "Reader studies"

    def ready(self) -> None:
        from readerstudy import audit, checks  # noqa: F401  (registers checks and receivers)
