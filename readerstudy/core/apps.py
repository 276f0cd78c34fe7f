from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def create_role_groups(**kwargs: Any) -> None:
    """Make sure the four role groups exist (after migrate, and after a test flush)."""
    from django.contrib.auth.models import Group

    from readerstudy.core.roles import ROLES

    using = kwargs.get("using", "default")
    for role in ROLES:
        Group.objects.using(using).get_or_create(name=role)


class CoreConfig(AppConfig):
    name = "readerstudy.core"
    label = "core"
    verbose_name = "Shared plumbing"

    def ready(self) -> None:
        from django.urls import register_converter

        from readerstudy.core import checks  # noqa: F401  (registers the system checks)
        from readerstudy.core.converters import Int64Converter

        register_converter(Int64Converter, "int64")  # before any URLconf is imported

        post_migrate.connect(create_role_groups, sender=self, dispatch_uid="core-role-groups")
