"""The Matrix adapter against a real Synapse homeserver on 127.0.0.1 (SQLite, offline).

The module starts one Synapse for all its tests: a generated config plus overrides (one
client listener on the loopback address, no federation, no key servers, registration only
through the shared-secret admin API, rate limits raised), a bot account and a room.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from sqlalchemy import Engine

from planner import channels, pieces
from planner.metrics.collect import Collector, MetricsSettings
from planner.metrics.views import post_metrics
from planner.models import Post, PostStatus
from publishers.base import AuthError, OutgoingPost
from publishers.matrix import MatrixPublisher
from tests.conftest import World, allow_private_network

pytest.importorskip(
    "synapse.app.homeserver",
    reason="matrix-synapse is not installed (a dev requirement; CI installs it)",
)

SERVER_NAME = "localhost"
STARTUP_SECONDS = 60.0
POST = OutgoingPost(
    post_id=42,
    title="Tag der offenen Tür",
    text="Wir öffnen die Türen 🎉 <Kassel> & Umgebung",
    link="https://example.de/tag-der-offenen-tuer",
)

# Its module-wide set-up (a server, a loaded demo) is made once: with `--dist loadgroup`,
# every test of this module runs in the same xdist worker.
pytestmark = pytest.mark.xdist_group("synapse")


@dataclass(frozen=True)
class Homeserver:
    """A running Synapse with a bot account in a room called #editorial."""

    url: str
    token: str
    room_id: str
    alias: str
    # Registers more accounts through the admin API (a visitor of the room, say).
    shared_secret: str = ""

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = requests.get(
            self.url + path,
            params=params,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def messages(self) -> list[dict[str, Any]]:
        """The room's m.room.message events, newest first."""
        chunk = self.get(
            f"/_matrix/client/v3/rooms/{quote(self.room_id, safe='')}/messages",
            dir="b",
            limit=100,
        )["chunk"]
        return [event for event in chunk if event["type"] == "m.room.message"]

    def adapter(self, **extra: object) -> MatrixPublisher:
        return MatrixPublisher(
            {"homeserver_url": self.url, "access_token": self.token, "room": self.alias, **extra}
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _write_config(directory: Path, port: int, shared_secret: str) -> list[Path]:
    """Synapse's generated config plus the test overrides (later files win)."""
    generated = directory / "homeserver.yaml"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "synapse.app.homeserver",
            "--server-name",
            SERVER_NAME,
            "--config-path",
            str(generated),
            "--data-directory",
            str(directory),
            "--generate-config",
            "--report-stats=no",
        ],
        check=True,
        capture_output=True,
        cwd=directory,
        timeout=60,
    )
    unlimited = {"per_second": 1000, "burst_count": 1000}
    overrides = {
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": {"name": "sqlite3", "args": {"database": str(directory / "homeserver.db")}},
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "enable_registration": False,
        "registration_shared_secret": shared_secret,
        "presence": {"enabled": False},
        "url_preview_enabled": False,
        "report_stats": False,
        "rc_message": unlimited,
        "rc_registration": unlimited,
        "rc_login": {"address": unlimited, "account": unlimited, "failed_attempts": unlimited},
        "rc_joins": {"local": unlimited, "remote": unlimited},
        "rc_invites": {"per_room": unlimited, "per_user": unlimited, "per_issuer": unlimited},
        "rc_admin_redaction": unlimited,
    }
    override = directory / "test-overrides.yaml"
    # JSON is YAML: no YAML writer needed.
    override.write_text(json.dumps(overrides, indent=2), encoding="utf-8")
    return [generated, override]


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"Synapse exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(f"{url}/health", timeout=1).text == "OK":
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    pytest.fail(
        f"Synapse did not become healthy in {STARTUP_SECONDS} s:\n{log.read_text()[-3000:]}"
    )


def _register(url: str, shared_secret: str, user: str, password: str) -> str:
    """A new (non-admin) account through the shared-secret admin API; its access token."""
    endpoint = f"{url}/_synapse/admin/v1/register"
    nonce = requests.get(endpoint, timeout=10).json()["nonce"]
    mac = hmac.new(
        shared_secret.encode(),
        b"\x00".join([nonce.encode(), user.encode(), password.encode(), b"notadmin"]),
        hashlib.sha1,
    ).hexdigest()
    response = requests.post(
        endpoint,
        json={"nonce": nonce, "username": user, "password": password, "admin": False, "mac": mac},
        timeout=10,
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def _another_member(homeserver: Homeserver, name: str) -> str:
    """A new account `name`, invited by the bot and joined to the room; its access token."""
    token = _register(homeserver.url, homeserver.shared_secret, name, secrets.token_hex(8))
    room = quote(homeserver.room_id, safe="")
    for path, as_token in (
        (f"/rooms/{room}/invite", homeserver.token),
        (f"/join/{room}", token),
    ):
        requests.post(
            f"{homeserver.url}/_matrix/client/v3{path}",
            json={"user_id": f"@{name}:{SERVER_NAME}"} if "invite" in path else {},
            headers={"Authorization": f"Bearer {as_token}"},
            timeout=10,
        ).raise_for_status()
    return token


def _send(
    homeserver: Homeserver, token: str, event_type: str, txn_id: str, content: dict[str, Any]
) -> str:
    """Send one event to the room as the account of `token`; its event id."""
    response = requests.put(
        f"{homeserver.url}/_matrix/client/v3/rooms/{quote(homeserver.room_id, safe='')}"
        f"/send/{event_type}/{txn_id}",
        json=content,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    response.raise_for_status()
    event_id: str = response.json()["event_id"]
    return event_id


@pytest.fixture(scope="module")
def homeserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Homeserver]:
    """One Synapse for the module; it is stopped however the tests end."""
    directory = tmp_path_factory.mktemp("synapse")
    port = _free_port()
    shared_secret = secrets.token_urlsafe(24)
    configs = _write_config(directory, port, shared_secret)
    log = directory / "synapse.out"
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "synapse.app.homeserver"]
            + [arg for config in configs for arg in ("-c", str(config))],
            cwd=directory,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_healthy(url, process, log)
            token = _register(url, shared_secret, "redaktion", secrets.token_urlsafe(16))
            created = requests.post(
                f"{url}/_matrix/client/v3/createRoom",
                json={"room_alias_name": "editorial", "name": "Redaktion"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            created.raise_for_status()
            yield Homeserver(
                url=url,
                token=token,
                room_id=created.json()["room_id"],
                alias=f"#editorial:{SERVER_NAME}",
                shared_secret=shared_secret,
            )
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def test_a_post_arrives_in_the_room_as_text_and_html(homeserver: Homeserver) -> None:
    receipt = homeserver.adapter().publish(POST, "synapse-first")
    (event,) = [e for e in homeserver.messages() if e["event_id"] == receipt.external_id]
    assert event["content"]["body"] == (
        "Wir öffnen die Türen 🎉 <Kassel> & Umgebung\n\nhttps://example.de/tag-der-offenen-tuer"
    )
    assert "&lt;Kassel&gt; &amp; Umgebung" in event["content"]["formatted_body"]
    assert receipt.url is not None
    assert receipt.url.startswith("https://matrix.to/#/%23editorial%3Alocalhost/%24")


def test_publishing_again_with_the_same_key_leaves_one_message(homeserver: Homeserver) -> None:
    before = len(homeserver.messages())
    first = homeserver.adapter().publish(POST, "synapse-repeat")
    # A new adapter (as after a worker restart) with the same token and key.
    second = homeserver.adapter().publish(POST, "synapse-repeat")
    assert first.external_id == second.external_id
    assert len(homeserver.messages()) == before + 1


def test_a_bad_token_is_an_auth_error(homeserver: Homeserver) -> None:
    adapter = MatrixPublisher(
        {"homeserver_url": homeserver.url, "access_token": "syt_bad", "room": homeserver.room_id}
    )
    with pytest.raises(AuthError) as caught:
        adapter.publish(POST, "synapse-bad-token")
    assert caught.value.http_status == 401
    assert caught.value.message.startswith("M_UNKNOWN_TOKEN: ")


def test_check_connection_and_metrics_against_the_server(homeserver: Homeserver) -> None:
    adapter = homeserver.adapter()
    assert adapter.check_connection() == (
        "signed in as @redaktion:localhost, a member of #editorial:localhost"
    )
    receipt = adapter.publish(POST, "synapse-metrics")
    reaction = {
        "m.relates_to": {
            "rel_type": "m.annotation",
            "event_id": receipt.external_id,
            "key": "👍",
        }
    }
    requests.put(
        f"{homeserver.url}/_matrix/client/v3/rooms/{quote(homeserver.room_id, safe='')}"
        "/send/m.reaction/synapse-reaction",
        json=reaction,
        headers={"Authorization": f"Bearer {homeserver.token}"},
        timeout=10,
    ).raise_for_status()
    metrics = adapter.fetch_metrics(receipt)
    assert (metrics.reactions, metrics.replies) == (1, 0)


def test_a_reaction_by_another_member_is_collected_as_one_reaction(
    homeserver: Homeserver, engine: Engine, world: World
) -> None:
    # Published by the bot, read by the planner's metrics collection.
    allow_private_network(world.session, world.admin)
    # Keys and names of their own: the server outlives each backend's run of this test.
    run = secrets.token_hex(4)
    receipt = homeserver.adapter().publish(POST, f"synapse-collected-{run}")
    channel = channels.create_channel(
        world.session,
        actor=world.admin,
        kind="matrix",
        name="Matrix",
        settings={
            "homeserver_url": homeserver.url,
            "access_token": homeserver.token,
            "room": homeserver.alias,
        },
    )
    piece = pieces.create_piece(
        world.session, actor=world.editor, data={"title": POST.title, "body": POST.text}
    )
    published = datetime.now(UTC) - timedelta(hours=2)
    post = Post(
        piece_id=piece.id,
        channel_id=channel.id,
        publish_at=published,
        published_at=published,
        status=PostStatus.published,
        external_id=receipt.external_id,
        external_url=receipt.url,
        created_by_id=world.editor.id,
    )
    world.session.add(post)
    world.session.commit()
    assert post.id is not None

    # Another member of the room reacts.
    reader = _another_member(homeserver, f"leser{run}")
    _send(
        homeserver,
        reader,
        "m.reaction",
        "leser-1",
        {
            "m.relates_to": {
                "rel_type": "m.annotation",
                "event_id": receipt.external_id,
                "key": "👏",
            }
        },
    )

    collector = Collector(engine, worker_id="synapse", settings=MetricsSettings(threads=1))
    try:
        result = collector.sweep()
    finally:
        collector.close()
    assert result.collected == [post.id]
    (snapshot,) = post_metrics(world.session, actor=world.editor, post_id=post.id).snapshots
    assert (snapshot.reactions, snapshot.replies) == (1, 0)
    assert (snapshot.impressions, snapshot.reposts, snapshot.link_clicks) == (None, None, None)


def test_only_replies_in_the_messages_thread_count_as_replies(homeserver: Homeserver) -> None:
    adapter = homeserver.adapter()
    run = secrets.token_hex(4)
    receipt = adapter.publish(POST, f"synapse-thread-{run}")
    root = receipt.external_id
    reader = _another_member(homeserver, f"faden{run}")

    def in_thread(number: int) -> dict[str, Any]:
        # As the spec has clients send a thread reply: the fallback for clients without
        # threads points at the root.
        return {
            "msgtype": "m.text",
            "body": f"Antwort {number} im Thread",
            "m.relates_to": {
                "rel_type": "m.thread",
                "event_id": root,
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": root},
            },
        }

    first = _send(homeserver, reader, "m.room.message", "thread-1", in_thread(1))
    _send(homeserver, reader, "m.room.message", "thread-2", in_thread(2))
    # A reply outside the thread counts for nothing, and so does a reaction to a reply in
    # the thread: only the reaction to the message itself is one of its reactions.
    _send(
        homeserver,
        reader,
        "m.room.message",
        "plain-reply",
        {
            "msgtype": "m.text",
            "body": "Antwort ohne Thread",
            "m.relates_to": {"m.in_reply_to": {"event_id": root}},
        },
    )
    for txn_id, target in (("reaction-reply", first), ("reaction-root", root)):
        _send(
            homeserver,
            reader,
            "m.reaction",
            txn_id,
            {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": "👍"}},
        )

    metrics = adapter.fetch_metrics(receipt)
    assert (metrics.reactions, metrics.replies) == (1, 2)
    assert metrics.raw == {"m.annotation": 1, "m.thread": 2}
