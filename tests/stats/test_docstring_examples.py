"""Every public function of analysis.stats has a runnable ``Examples`` section, and it runs.

The examples are collected with :class:`doctest.DocTestFinder` over the modules of the
package and run with :class:`doctest.DocTestRunner`; a public function without one fails.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import analysis.stats

MODULES: list[ModuleType] = [
    importlib.import_module(f"analysis.stats.{info.name}")
    for info in pkgutil.iter_modules(analysis.stats.__path__)
    if not info.name.startswith("_")
]


def public_functions(module: ModuleType) -> list[str]:
    """Names of the functions defined (not imported) in ``module`` without a leading ``_``."""
    return sorted(
        name
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and inspect.isfunction(obj)
        and obj.__module__ == module.__name__
    )


def _tests(module: ModuleType) -> dict[str, doctest.DocTest]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    return {
        t.name.removeprefix(f"{module.__name__}."): t for t in finder.find(module) if t.examples
    }


def test_the_package_has_modules_with_public_functions() -> None:
    names = {m.__name__.rsplit(".", 1)[1] for m in MODULES}
    assert {"agreement", "diagnostic", "likert", "mrmc", "roc", "power"} <= names
    assert sum(len(public_functions(m)) for m in MODULES) >= 30


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_every_public_function_has_an_examples_section(module: ModuleType) -> None:
    found = _tests(module)
    missing = []
    for name in public_functions(module):
        doc = inspect.getdoc(getattr(module, name)) or ""
        if name not in found or "Examples\n--------" not in doc:
            missing.append(name)
    assert not missing, f"{module.__name__}: no Examples section with >>> in {missing}"


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples_run_and_print_what_they_show(module: ModuleType) -> None:
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    failures = []
    for name, test in sorted(_tests(module).items()):
        result = runner.run(test, out=failures.append)
        assert result.attempted > 0, name
    assert not failures, "".join(failures)
