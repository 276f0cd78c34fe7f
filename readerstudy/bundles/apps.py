"""Study bundle formats: import and export."""

from django.apps import AppConfig


class BundlesConfig(AppConfig):
    name = "readerstudy.bundles"
    label = "bundles"
    verbose_name = "Study bundles"
