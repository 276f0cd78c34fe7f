"""Studies, cases, readers, readings and members.

The label is the historical ``readerstudy``: the tables, content types, permissions, admin
URLs and migration rows of these models (and of the models of reading, generation, audit and
core, which declare ``app_label = 'readerstudy'``) do not change. The migrations stay, frozen,
in ``readerstudy/migrations/`` (``MIGRATION_MODULES`` in the settings).
"""

from django.apps import AppConfig


class StudiesConfig(AppConfig):
    name = "readerstudy.studies"
    label = "readerstudy"
    verbose_name = "Reader studies"

    def ready(self) -> None:
        from readerstudy.studies import receivers  # noqa: F401  (connects the audit receivers)
