"""The listening inbox against a real Synapse homeserver: a visitor's message in the room
arrives in the inbox, and the reply written there arrives in the room as a Matrix reply."""

from __future__ import annotations

import secrets
from urllib.parse import quote

import pytest
import requests
from sqlalchemy import Engine

from planner import channels, inbox
from planner.models import InboxSource, InboxStatus
from publishers.base import OutgoingPost
from tests.conftest import World, allow_private_network
from tests.publishers.test_matrix_synapse import (  # the module's Synapse, started once here
    Homeserver,
    _register,
    homeserver,
)

__all__ = ["homeserver"]

pytest.importorskip(
    "synapse.app.homeserver",
    reason="matrix-synapse is not installed (a dev requirement; CI installs it)",
)


def _visitor_says(server: Homeserver, text: str) -> str:
    """A second account joins the room and writes `text` there; its event id."""
    shared_secret = server.shared_secret
    name = "gast" + secrets.token_hex(3)
    token = _register(server.url, shared_secret, name, secrets.token_urlsafe(16))
    room = quote(server.room_id, safe="")
    bot = {"Authorization": f"Bearer {server.token}"}
    guest = {"Authorization": f"Bearer {token}"}
    requests.post(
        f"{server.url}/_matrix/client/v3/rooms/{room}/invite",
        json={"user_id": f"@{name}:localhost"},
        headers=bot,
        timeout=10,
    ).raise_for_status()
    requests.post(
        f"{server.url}/_matrix/client/v3/join/{room}", json={}, headers=guest, timeout=10
    ).raise_for_status()
    sent = requests.put(
        f"{server.url}/_matrix/client/v3/rooms/{room}/send/m.room.message/{secrets.token_hex(8)}",
        json={"msgtype": "m.text", "body": text},
        headers=guest,
        timeout=10,
    )
    sent.raise_for_status()
    event_id: str = sent.json()["event_id"]
    return event_id


def test_a_message_in_the_room_is_answered_from_the_inbox(
    engine: Engine, world: World, homeserver: Homeserver
) -> None:
    allow_private_network(world.session, world.admin)
    channels.create_channel(
        world.session,
        actor=world.admin,
        kind="matrix",
        name="Redaktionsraum",
        settings={
            "homeserver_url": homeserver.url,
            "access_token": homeserver.token,
            "room": homeserver.alias,
        },
    )
    own = OutgoingPost(post_id=1, title="", text="Unser eigener Hinweis")
    homeserver.adapter().publish(own, "listening-own")  # never in the inbox
    asked = _visitor_says(homeserver, "Wann öffnet die Ausstellung?")

    result = inbox.poll(engine)
    assert result.errors == {}
    # The room is the module's: earlier tests' visitors may be in it too.
    [view] = [
        v
        for v in inbox.list_items(world.session, actor=world.editor)
        if v.item.external_id == asked
    ]
    item = view.item
    assert (item.source, item.external_id, item.text) == (
        InboxSource.mention,
        asked,
        "Wann öffnet die Ausstellung?",
    )
    assert item.author_handle.startswith("@gast")
    assert inbox.poll(engine).arrived == 0  # read on from the cursor, nothing twice

    assert item.id is not None
    done = inbox.reply_to_item(
        world.session, actor=world.editor, item_id=item.id, text="Ab Samstag, 10 Uhr."
    )
    assert done.status == InboxStatus.answered
    [reply] = [e for e in homeserver.messages() if e["event_id"] == done.reply_external_id]
    assert reply["content"]["body"] == "Ab Samstag, 10 Uhr."
    assert reply["content"]["m.relates_to"] == {"m.in_reply_to": {"event_id": asked}}
    # The bot's own reply does not come back as something to answer.
    assert inbox.poll(engine).arrived == 0
