"""The study bundle: a folder (or .zip of it) holding study.toml, CSV tables and images.

See docs/architecture.md ("Study bundle") and docs/bundle.md. ``parse_bundle`` validates a whole
bundle and either returns it parsed or raises ``BundleError`` listing every problem as
``file:line: column: message``; writing to the database is done by
``readerstudy.bundles.services.study_import``.
"""

from readerstudy.bundles.problems import BundleError, Problem
from readerstudy.bundles.source import BundleSource, open_bundle

__all__ = ["BundleError", "BundleSource", "Problem", "open_bundle"]
