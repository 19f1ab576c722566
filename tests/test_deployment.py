"""Production settings pass Django's deployment checks; missing secrets fail loudly."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "forum.example.org",
    "SITE_URL": "https://forum.example.org",
    "EMAIL_URL": "smtp+tls://forum:secret@mail.example.org:587",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {key: os.environ[key] for key in ("PATH", "HOME", "DATABASE_URL") if key in os.environ}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_without_a_secret_key_and_debug_off_it_refuses_to_start():
    result = manage("check", **{**PRODUCTION, "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_console_mail_in_production_is_reported():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **{**PRODUCTION, "EMAIL_URL": "consolemail://"})
    assert result.returncode != 0
