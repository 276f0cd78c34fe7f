"""The statistics engine loads no Django: importing every module of ``analysis.stats`` in a
fresh interpreter (no ``DJANGO_SETTINGS_MODULE``) leaves ``django`` out of ``sys.modules``.

``analysis.stats.consensus`` imports the one vocabulary module below the layers
(``readerstudy.core.choices``, the import-linter contract "stats-pure" allows exactly that);
this pins that the import has no side effects (e.g. ``readerstudy/__init__.py`` loading Celery,
which loads Django).
"""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import analysis.stats

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(f"analysis.stats.{m.name}" for m in pkgutil.iter_modules(analysis.stats.__path__))


def test_every_stats_module_is_found() -> None:
    assert "analysis.stats.consensus" in MODULES


def test_importing_the_statistics_loads_no_django() -> None:
    imports = "; ".join(f"import {name}" for name in MODULES)
    code = (
        f"import sys; {imports}; "
        "loaded = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')); "
        "assert not loaded, loaded; "
        "assert 'readerstudy.core.choices' in sys.modules"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
