"""The tests' OpenID Connect provider: npm `oidc-provider` (`tests/oidc/provider.js`).

`start` runs it on a free port of 127.0.0.1 with one confidential client and the given
accounts; `id_token_claims` signs one of them in through the provider's own login form
and code flow, as a browser would, and returns the checked ID token's claims.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

OIDC_DIR = Path(__file__).resolve().parent / "oidc"


def why_not() -> str | None:
    """Why the provider cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed (Node 20 or later runs the tests' OpenID provider)"
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        return "the tests' OpenID provider is not installed (npm ci --prefix tests/oidc)"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Idp:
    """A running provider and the one client registered with it."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    password: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def logs(self) -> str:
        tail = self.log_path.read_text(errors="replace")[-3000:]
        return f"--- oidc-provider (pid {self.proc.pid}, exit {self.proc.poll()}) ---\n{tail}"


def stop(proc: subprocess.Popen[bytes]) -> None:
    """End a process the test started (TERM, then KILL)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextmanager
def start(
    log_path: Path, *, redirect_uri: str, accounts: Mapping[str, Mapping[str, object]]
) -> Iterator[Idp]:
    """Run the provider until the block ends. `accounts`: login name -> ID token claims;
    every account has the same password, made per run."""
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PLANNER_", "OIDC_"))
        and k.lower() not in ("http_proxy", "https_proxy")
    }
    idp_password = secrets.token_urlsafe(16)
    client_secret = secrets.token_urlsafe(24)
    env.update(
        OIDC_PORT=str(port),
        OIDC_CLIENT_ID="redaktionsplaner",
        OIDC_CLIENT_SECRET=client_secret,
        OIDC_REDIRECT_URI=redirect_uri,
        OIDC_ACCOUNTS=json.dumps(accounts),
        OIDC_PASSWORD=idp_password,
    )
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            ["node", str(OIDC_DIR / "provider.js")],
            cwd=OIDC_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        idp = Idp(
            f"http://127.0.0.1:{port}",
            "redaktionsplaner",
            client_secret,
            redirect_uri,
            idp_password,
            proc,
            log_path,
        )
        try:
            deadline = time.monotonic() + 20
            while "ready" not in log_path.read_text(errors="replace"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the OpenID provider did not start\n{idp.logs()}")
                time.sleep(0.1)
            yield idp
        finally:
            stop(proc)


class _FormAction(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "form" and self.action is None:
            self.action = dict(attrs).get("action")


def id_token_claims(idp: Idp, login: str) -> dict[str, Any]:
    """Sign `login` in at the provider (authorization code flow with PKCE, its login form)
    and return the claims of the ID token, checked for signature, issuer, audience and
    nonce with Authlib and joserfc."""
    import httpx
    from authlib.common.security import generate_token
    from authlib.integrations.httpx_client import OAuth2Client
    from joserfc import jwt
    from joserfc.jwk import KeySet

    with httpx.Client(follow_redirects=False, trust_env=False, timeout=10) as browser:
        metadata = browser.get(idp.metadata_url).json()
        nonce = generate_token(20)
        verifier = generate_token(48)
        with OAuth2Client(
            idp.client_id,
            idp.client_secret,
            scope="openid email profile",
            redirect_uri=idp.redirect_uri,
            code_challenge_method="S256",
            trust_env=False,
        ) as client:
            url, _state = client.create_authorization_url(
                metadata["authorization_endpoint"], nonce=nonce, code_verifier=verifier
            )
            response = browser.get(url)
            while response.is_redirect and not str(response.headers["location"]).startswith(
                idp.redirect_uri
            ):
                target = urljoin(str(response.url), response.headers["location"])
                if "/interaction/" in target and response.request.method == "GET":
                    page = browser.get(target)
                    form = _FormAction()
                    form.feed(page.text)
                    assert form.action, page.text
                    response = browser.post(
                        urljoin(target, form.action),
                        data={"prompt": "login", "login": login, "password": idp.password},
                    )
                    assert response.is_redirect, f"{response.status_code}: {response.text}"
                    continue
                response = browser.get(target)
            location = str(response.headers["location"])
            assert "code" in parse_qs(urlsplit(location).query), location
            token = client.fetch_token(
                metadata["token_endpoint"], authorization_response=location, code_verifier=verifier
            )
        keys = KeySet.import_key_set(browser.get(metadata["jwks_uri"]).json())
    claims = dict(jwt.decode(token["id_token"], keys).claims)
    assert claims["iss"] == idp.issuer
    assert claims["aud"] == idp.client_id
    assert claims["nonce"] == nonce
    assert claims["exp"] > time.time()
    return claims
