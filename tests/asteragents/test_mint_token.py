"""`manage.py mint_token` and the dev key, trusted only in debug mode."""

import io
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from rest_framework.exceptions import AuthenticationFailed

from asteragents import devkeys
from asteragents.authentication import verify_session_token
from tests.asteragents.conftest import WHOAMI
from tests.clerk import jwk, jwks_document, make_token, public_pem, session_claims, sign

pytestmark = pytest.mark.urls("tests.asteragents.urls")

PROJECT_DIR = Path(__file__).resolve().parents[2]


def mint(**options) -> tuple[str, str]:
    """Run the command; its (stdout, stderr)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("mint_token", stdout=stdout, stderr=stderr, **options)
    return stdout.getvalue(), stderr.getvalue()


def mint_token(**options) -> str:
    out, _ = mint(**{"org": "org_acme", "user": "user_ann", **options})
    return out.strip()


def get(client, token: str):
    return client.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {token}")


def unverified(token: str) -> tuple[dict, dict]:
    return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})


@pytest.fixture
def debug(settings):
    settings.DEBUG = True
    return settings


# --- The command --------------------------------------------------------------------------


def test_refuses_without_debug(settings):
    with pytest.raises(CommandError, match="DEBUG"):
        mint(org="org_acme", user="user_ann")
    assert not Path(settings.CLERK_DEV_KEY_DIR).exists()


def test_prints_only_the_token(debug):
    out, err = mint(org="org_acme", user="user_ann")
    assert out.count("\n") == 1 and out.endswith("\n")
    assert out.strip().count(".") == 2
    assert "Created the development signing key" in err


def test_creates_the_private_key_once_with_mode_0600(debug):
    mint_token()
    key_file = Path(debug.CLERK_DEV_KEY_DIR) / devkeys.PRIVATE_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = key_file.read_bytes()

    _, err = mint(org="org_acme", user="user_ann")
    assert err == ""  # not created again
    assert key_file.read_bytes() == first
    assert sorted(path.name for path in key_file.parent.iterdir()) == [devkeys.PRIVATE_KEY_FILE]


def test_v2_claims(debug):
    header, claims = unverified(mint_token(role="member", ttl=600))
    assert header["kid"] == "asteragents-dev"
    assert header["alg"] == "RS256"
    assert claims["sub"] == "user_ann"
    assert claims["v"] == 2
    assert claims["o"] == {"id": "org_acme", "rol": "member"}
    assert claims["exp"] - claims["iat"] == 600
    assert "org_id" not in claims


def test_v1_claims(debug):
    _, claims = unverified(mint_token(role="admin", format="v1"))
    assert claims["org_id"] == "org_acme"
    assert claims["org_role"] == "org:admin"
    assert claims["exp"] - claims["iat"] == 3600
    assert "o" not in claims and "v" not in claims


def test_dev_token_satisfies_configured_issuer_party_and_audience(debug):
    debug.CLERK_ISSUER = "https://clerk.acme.example"
    debug.CLERK_AUTHORIZED_PARTIES = ["http://localhost:3000"]
    debug.CLERK_AUDIENCE = ["stats-api"]
    principal = verify_session_token(mint_token())
    assert principal.organization_id == "org_acme"


@pytest.mark.parametrize("ttl", [0, -5, 30 * 24 * 3600 + 1])
def test_ttl_out_of_range_is_refused(debug, ttl):
    with pytest.raises(CommandError, match="--ttl"):
        mint_token(ttl=ttl)


@pytest.mark.parametrize("option", ["org", "user", "role"])
def test_blank_values_are_refused(debug, option):
    with pytest.raises(CommandError, match=f"--{option}"):
        mint_token(**{option: " "})


def test_unwritable_key_dir_is_a_clear_error(debug, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    debug.CLERK_DEV_KEY_DIR = blocker / "dev-keys"
    with pytest.raises(CommandError, match="development key"):
        mint_token()


def test_shell_usage_prints_only_the_token(tmp_path):
    """TOKEN=$(python manage.py mint_token ...) captures exactly the token."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "asteragents.settings",
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": "sqlite:///:memory:",
        "CLERK_DEV_KEY_DIR": str(tmp_path / "keys"),
    }
    command = [sys.executable, "manage.py", "mint_token", "--org", "org_acme", "--user", "u_1"]
    done = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 1 and lines[0].count(".") == 2

    env["DJANGO_DEBUG"] = "false"
    env["DJANGO_SECRET_KEY"] = "test-only"
    done = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, timeout=60)
    assert done.returncode == 1
    assert done.stdout == b""
    assert b"only works with DEBUG on" in done.stderr


# --- Trust of the dev key -----------------------------------------------------------------


def test_dev_token_is_trusted_in_debug_mode(client, debug):
    response = get(client, mint_token(role="member"))
    assert response.status_code == 200
    body = response.json()
    assert body["user_id"] == "user_ann"
    assert body["organization_id"] == "org_acme"
    assert body["org_role"] == "org:member"


def test_dev_token_v1_with_legacy_role(client, debug):
    response = get(client, mint_token(role="admin", format="v1"))
    assert response.json()["org_role"] == "org:admin"
    assert response.json()["is_org_admin"] is True


def test_dev_and_real_tokens_both_work_in_debug_mode(client, debug):
    debug.CLERK_JWT_KEY = public_pem("default")
    assert get(client, mint_token()).status_code == 200
    real = make_token(user_id="user_bo", org_id="org_acme")
    assert get(client, real).json()["user_id"] == "user_bo"


def test_dev_token_is_refused_without_debug_against_a_pem_key(client, debug):
    token = mint_token()
    debug.DEBUG = False
    debug.CLERK_JWT_KEY = public_pem("default")
    response = get(client, token)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_signature"


def test_dev_token_is_refused_without_debug_against_a_jwks(client, debug, jwks_server):
    token = mint_token()
    debug.DEBUG = False
    jwks_server.document = jwks_document(jwk("default", kid="ins_1"))
    response = get(client, token)
    assert response.status_code == 401
    assert response.json()["code"] == "unknown_key"


def test_dev_token_without_debug_or_key_is_503(client, debug):
    token = mint_token()
    debug.DEBUG = False
    assert get(client, token).json()["code"] == "auth_unavailable"


def test_dev_kid_with_no_dev_key_yet_is_unknown_key(client, debug):
    token = sign(session_claims(user_id="user_ann", org_id=None), kid=devkeys.DEV_KEY_ID)
    response = get(client, token)
    assert response.status_code == 401
    assert response.json()["code"] == "unknown_key"


def test_dev_token_signed_by_another_key_is_invalid_signature(client, debug):
    mint_token()  # creates the dev key
    token = sign(session_claims(user_id="user_ann", org_id=None), kid=devkeys.DEV_KEY_ID)
    assert get(client, token).json()["code"] == "invalid_signature"


def test_short_ttl_expires(debug):
    token = mint_token(ttl=1)
    _, claims = unverified(token)
    assert verify_session_token(token, now=claims["iat"]).user_id == "user_ann"
    with pytest.raises(AuthenticationFailed, match="expired"):
        verify_session_token(token, now=claims["iat"] + 1 + 5)


def test_default_dev_key_dir_is_outside_git():
    # /var/ is in .gitignore; the setting's default lives under it.
    default = Path(django_settings.BASE_DIR) / "var" / "dev-keys"
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(default / devkeys.PRIVATE_KEY_FILE)],
        cwd=PROJECT_DIR,
        capture_output=True,
    )
    assert ignored.returncode == 0


# --- The key file -------------------------------------------------------------------------


def _numbers(key) -> tuple[int, int]:
    """A key pair's public numbers (n, e), from its private or its public half."""
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_numbers().n, public.public_numbers().e


def test_concurrent_first_use_makes_one_key(tmp_path):
    key_dir = tmp_path / "keys"
    results = []

    def first_use():
        results.append(devkeys.ensure_dev_private_key(key_dir))

    threads = [threading.Thread(target=first_use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 4
    assert sum(created for _, created in results) == 1
    assert len({_numbers(key) for key, _ in results}) == 1
    assert [path.name for path in key_dir.iterdir()] == [devkeys.PRIVATE_KEY_FILE]


def test_replaced_key_file_is_read_again(tmp_path):
    first, _ = devkeys.ensure_dev_private_key(tmp_path)
    assert _numbers(devkeys.dev_public_key(tmp_path)) == _numbers(first)
    devkeys.private_key_path(tmp_path).unlink()
    assert devkeys.dev_public_key(tmp_path) is None
    second, created = devkeys.ensure_dev_private_key(tmp_path)
    assert created
    assert _numbers(devkeys.dev_public_key(tmp_path)) == _numbers(second) != _numbers(first)
