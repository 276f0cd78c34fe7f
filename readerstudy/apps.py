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
        from readerstudy import audit, checks  # noqa: F401  (registers checks and receivers)

        post_migrate.connect(
            create_role_groups, sender=self, dispatch_uid="readerstudy-role-groups"
        )
