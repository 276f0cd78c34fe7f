"""API keys come from the environment or the secrets file, and are redacted from stored text."""

from __future__ import annotations

from pathlib import Path

import pytest

from readerstudy.core.llm.keys import (
    NO_KEY,
    REDACTED,
    ApiKeyMissingError,
    api_key_name_valid,
    api_key_resolve,
    redact,
)


def test_a_key_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("READERSTUDY_KEY_TEST", "sk-from-env-123456")
    assert api_key_resolve("READERSTUDY_KEY_TEST") == "sk-from-env-123456"


def test_a_key_is_read_from_the_secrets_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secrets = tmp_path / "secrets.env"
    secrets.write_text(
        '# keys of the hospital servers\nexport READERSTUDY_KEY_VLLM="sk-from-file-abcdef"\nOTHER=1\n'
    )
    monkeypatch.delenv("READERSTUDY_KEY_VLLM", raising=False)
    monkeypatch.setenv("READERSTUDY_SECRETS_FILE", str(secrets))
    assert api_key_resolve("READERSTUDY_KEY_VLLM") == "sk-from-file-abcdef"


def test_the_environment_wins_over_the_secrets_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secrets = tmp_path / "secrets.env"
    secrets.write_text("READERSTUDY_KEY_X=from-file-000000\n")
    monkeypatch.setenv("READERSTUDY_SECRETS_FILE", str(secrets))
    monkeypatch.setenv("READERSTUDY_KEY_X", "from-env-000000")
    assert api_key_resolve("READERSTUDY_KEY_X") == "from-env-000000"


def test_a_missing_key_names_the_variable_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("READERSTUDY_KEY_ABSENT", raising=False)
    monkeypatch.delenv("READERSTUDY_SECRETS_FILE", raising=False)
    with pytest.raises(ApiKeyMissingError, match="READERSTUDY_KEY_ABSENT is not set"):
        api_key_resolve("READERSTUDY_KEY_ABSENT")


def test_no_name_means_a_server_without_keys() -> None:
    assert api_key_resolve("") == NO_KEY


@pytest.mark.parametrize("name", ["OPENAI_API_KEY", "AZURE_KEY_2", "_X"])
def test_names_of_variables_are_valid(name: str) -> None:
    assert api_key_name_valid(name)


@pytest.mark.parametrize("name", ["sk-proj-abc123", "openai_api_key", "MY KEY", "A-B", "1ABC"])
def test_keys_and_other_text_are_not_names(name: str) -> None:
    assert not api_key_name_valid(name)
    with pytest.raises(ValueError, match="NAME"):
        api_key_resolve(name)


def test_redact_removes_the_key_and_its_echoed_fragments() -> None:
    key = "sk-proj-0123456789abcdefXYZ"
    text = f"Incorrect API key provided: {key}. Or masked: sk-proj-****abcdefXYZ"
    cleaned = redact(text, (key,))
    assert key not in cleaned and "abcdefXYZ" not in cleaned
    assert REDACTED in cleaned
    assert redact("nothing secret", (NO_KEY,)) == "nothing secret"
