"""Settings come from the environment; production values pass ``check --deploy``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTEST_VERSION", "DJANGO_DEBUG", "SECRET_KEY"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "SECRET_KEY": "x7Qp-2vLk9sW3rT8yU1iO4pA6sD0fG5hJ2kL7zX9cV3bN8mQ1wE6rT4yU0iO2pA5",
    "ALLOWED_HOSTS": "readerstudy.example.org",
}


@pytest.mark.slow
def test_check_deploy_reports_nothing_with_production_values(tmp_path: Path) -> None:
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "DEBUG",
        env={
            **PRODUCTION,
            "READERSTUDY_VAR_DIR": str(tmp_path),
            "MEDIA_ROOT": str(tmp_path / "media"),
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_it_refuses_to_start_in_production_without_a_secret_key(tmp_path: Path) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = manage("check", env={**env, "READERSTUDY_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.slow
def test_it_generates_and_keeps_a_development_secret_key(tmp_path: Path) -> None:
    env = {"DJANGO_DEBUG": "1", "READERSTUDY_VAR_DIR": str(tmp_path)}
    assert manage("check", env=env).returncode == 0
    key_file = tmp_path / "dev-secret-key"
    first = key_file.read_text()
    assert len(first) >= 50 and (key_file.stat().st_mode & 0o777) == 0o600
    assert manage("check", env=env).returncode == 0
    assert key_file.read_text() == first


def test_it_rejects_a_malformed_boolean() -> None:
    result = manage("check", env={**PRODUCTION, "DJANGO_DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DJANGO_DEBUG: expected a boolean" in result.stderr


def test_database_url_selects_postgresql() -> None:
    code = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import django, os; os.environ['DJANGO_SETTINGS_MODULE']='readerstudy.settings'; django.setup(); {code}",
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": "postgres://u@db.example:5432/rs"},
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip() == "django.db.backends.postgresql", result.stderr


def settings_values(env: dict[str, str], *names: str) -> dict[str, object]:
    """``names`` of the settings module as configured by ``env`` (in a fresh process)."""
    code = (
        "import json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'readerstudy.settings'; "
        "from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {list(names)!r}}}))"
    )
    base = {k: v for k, v in os.environ.items() if k not in {"PYTEST_VERSION", "DJANGO_DEBUG"}}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


SECURITY_SETTINGS = (
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_AGE",
    "SESSION_EXPIRE_AT_BROWSER_CLOSE",
    "LOGIN_FAILURE_LIMIT",
    "LOGIN_FAILURE_LIMIT_IP",
    "LOGIN_FAILURE_WINDOW",
    "LOGIN_BACKOFF_BASE",
    "LOGIN_BACKOFF_MAX",
)


def test_production_defaults_are_strict(tmp_path: Path) -> None:
    values = settings_values(
        {**PRODUCTION, "READERSTUDY_VAR_DIR": str(tmp_path)}, *SECURITY_SETTINGS
    )
    assert values == {
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SESSION_COOKIE_AGE": 8 * 60 * 60,
        "SESSION_EXPIRE_AT_BROWSER_CLOSE": True,
        "LOGIN_FAILURE_LIMIT": 5,
        "LOGIN_FAILURE_LIMIT_IP": 20,
        "LOGIN_FAILURE_WINDOW": 15 * 60,
        "LOGIN_BACKOFF_BASE": 1,
        "LOGIN_BACKOFF_MAX": 5 * 60,
    }


def test_session_and_throttle_settings_come_from_the_environment(tmp_path: Path) -> None:
    env = {
        **PRODUCTION,
        "READERSTUDY_VAR_DIR": str(tmp_path),
        "SESSION_COOKIE_AGE": "1800",
        "SESSION_EXPIRE_AT_BROWSER_CLOSE": "0",
        "LOGIN_FAILURE_LIMIT": "3",
        "LOGIN_FAILURE_WINDOW": "60",
        "SECURE_HSTS_SECONDS": "0",
    }
    values = settings_values(env, *SECURITY_SETTINGS)
    assert values["SESSION_COOKIE_AGE"] == 1800
    assert values["SESSION_EXPIRE_AT_BROWSER_CLOSE"] is False
    assert (values["LOGIN_FAILURE_LIMIT"], values["LOGIN_FAILURE_WINDOW"]) == (3, 60)
    assert values["SECURE_HSTS_SECONDS"] == 0


def test_trusted_proxies_and_back_off_come_from_the_environment(tmp_path: Path) -> None:
    env = {
        **PRODUCTION,
        "READERSTUDY_VAR_DIR": str(tmp_path),
        "TRUSTED_PROXIES": "10.0.0.2, 172.16.0.0/12,::1",
        "LOGIN_BACKOFF_BASE": "2",
        "LOGIN_BACKOFF_MAX": "120",
    }
    code = (
        "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'readerstudy.settings'; "
        "from django.conf import settings; "
        "print([str(n) for n in settings.TRUSTED_PROXIES], settings.LOGIN_BACKOFF_BASE, "
        "settings.LOGIN_BACKOFF_MAX)"
    )
    base = {k: v for k, v in os.environ.items() if k not in {"PYTEST_VERSION", "DJANGO_DEBUG"}}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**base, **env}, capture_output=True, text=True
    )
    assert result.stdout.strip() == "['10.0.0.2/32', '172.16.0.0/12', '::1/128'] 2 120"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("TRUSTED_PROXIES", "10.0.0.2,proxy.local", "TRUSTED_PROXIES: 'proxy.local' is not an IP"),
        ("LOGIN_FAILURE_LIMIT", "0", "LOGIN_FAILURE_LIMIT: expected at least 1, got 0"),
        ("LOGIN_BACKOFF_MAX", "0", "LOGIN_BACKOFF_MAX at least LOGIN_BACKOFF_BASE"),
    ],
)
def test_a_bad_throttle_setting_stops_the_server_with_its_name(
    variable: str, value: str, message: str
) -> None:
    result = manage("check", env={**PRODUCTION, variable: value})
    assert result.returncode != 0
    assert message in result.stderr


GENERATION_SETTINGS = (
    "GENERATION_API_KEYS",
    "GENERATION_API_KEY_PREFIX",
    "GENERATION_PUBLIC_ENDPOINTS",
    "GENERATION_ALLOWED_BASE_URLS",
    "GENERATION_ALLOW_LINK_LOCAL",
)


def test_generation_allow_lists_default_to_the_public_endpoints_and_prefixed_keys(
    tmp_path: Path,
) -> None:
    production = settings_values(
        {**PRODUCTION, "READERSTUDY_VAR_DIR": str(tmp_path)}, *GENERATION_SETTINGS
    )
    assert production == {
        "GENERATION_API_KEYS": [],
        "GENERATION_API_KEY_PREFIX": "READERSTUDY_KEY_",
        "GENERATION_PUBLIC_ENDPOINTS": True,
        "GENERATION_ALLOWED_BASE_URLS": [],
        "GENERATION_ALLOW_LINK_LOCAL": False,
    }
    development = settings_values(
        {"DJANGO_DEBUG": "1", "READERSTUDY_VAR_DIR": str(tmp_path)}, "GENERATION_ALLOWED_BASE_URLS"
    )
    assert development == {"GENERATION_ALLOWED_BASE_URLS": ["http://127.0.0.1:8011"]}  # the demo


@pytest.mark.slow
def test_generation_allow_lists_come_from_the_environment(tmp_path: Path) -> None:
    env = {
        **PRODUCTION,
        "READERSTUDY_VAR_DIR": str(tmp_path),
        "GENERATION_API_KEYS": "OPENAI_API_KEY, VLLM_KEY",
        "GENERATION_API_KEY_PREFIX": "",
        "GENERATION_PUBLIC_ENDPOINTS": "0",
        "GENERATION_ALLOWED_BASE_URLS": "http://gpu01:8000/v1,http://localhost:11434",
        "GENERATION_ALLOW_LINK_LOCAL": "1",
    }
    assert settings_values(env, *GENERATION_SETTINGS) == {
        "GENERATION_API_KEYS": ["OPENAI_API_KEY", "VLLM_KEY"],
        "GENERATION_API_KEY_PREFIX": "",
        "GENERATION_PUBLIC_ENDPOINTS": False,
        "GENERATION_ALLOWED_BASE_URLS": ["http://gpu01:8000/v1", "http://localhost:11434"],
        "GENERATION_ALLOW_LINK_LOCAL": True,
    }
    check = manage("check", env=env)
    assert "readerstudy.W023" in check.stderr  # the link-local switch is on


def test_the_cache_is_shared_by_files_without_redis_and_by_redis_with_cache_url(
    tmp_path: Path,
) -> None:
    env = {**PRODUCTION, "READERSTUDY_VAR_DIR": str(tmp_path)}
    files = settings_values(env, "CACHES")["CACHES"]["default"]  # type: ignore[index]
    assert files["BACKEND"] == "django.core.cache.backends.filebased.FileBasedCache"
    assert files["LOCATION"] == str(tmp_path / "cache")
    elsewhere = settings_values({**env, "READERSTUDY_CACHE_DIR": str(tmp_path / "c2")}, "CACHES")
    assert elsewhere["CACHES"]["default"]["LOCATION"] == str(tmp_path / "c2")  # type: ignore[index]
    redis = settings_values({**env, "CACHE_URL": "redis://127.0.0.1:6379/1"}, "CACHES")
    assert redis["CACHES"]["default"] == {  # type: ignore[index]
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/1",
    }
