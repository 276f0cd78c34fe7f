from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def create_role_groups(**kwargs: Any) -> None:
    """Make sure the four role groups exist (after migrate, and after a test flush)."""
    from django.contrib.auth.models import Group

    from readerstudy.roles import ROLES

    using = kwargs.get("using", "default")
    for role in ROLES:
        Group.objects.using(using).get_or_create(name=role)


class ReaderstudyConfig(AppConfig):
    name = "readerstudy"
    verbose_name = "Reader studies"

    def ready(self) -> None:
        from django.urls import register_converter

        from readerstudy import audit, checks  # noqa: F401  (registers checks and receivers)
        from readerstudy.converters import Int64Converter

        register_converter(Int64Converter, "int64")  # before any URLconf is imported

        post_migrate.connect(
            create_role_groups, sender=self, dispatch_uid="readerstudy-role-groups"
        )
