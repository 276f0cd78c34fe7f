"""The reading world of tests/reading/conftest.py, for the confirmation-page tests."""

from tests.reading.conftest import world  # noqa: F401
