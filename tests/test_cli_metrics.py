"""`metrics collect --once` and `metrics show`: a post published on Mastodon (a local test
server), its figures read once its first round is due, shown to those who may see it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from secrets import token_hex

from pytest_httpserver import HTTPServer

from tests.test_cli import (
    Cli,
    _allow_private_network,
    _approved_piece_with_due_post,
    _set_post,
    org,
    run,
)

__all__ = ["org", "run"]

TOKEN = "cli-metrics-" + token_hex(10)  # made per run


def _published_on_mastodon(org: Cli, httpserver: HTTPServer) -> int:
    """A post published on the channel "Mastodon" two hours ago, status id 4242."""
    _allow_private_network(org)
    org.ok(
        "channels",
        "add",
        "mastodon",
        "Mastodon",
        "--set",
        f"instance_url={httpserver.url_for('').rstrip('/')}",
        "--secret",
        "access_token",
        "--as",
        "boss",
        "--password-stdin",
        stdin=TOKEN + "\n",
    )
    post_id = _approved_piece_with_due_post(org, "Mastodon")
    httpserver.expect_oneshot_request("/api/v1/statuses", method="POST").respond_with_json(
        {"id": "4242", "url": "https://social.example.de/@firma/4242"}
    )
    org.ok("publish-due")
    _set_post(post_id, published_at=datetime.now(UTC) - timedelta(hours=2))
    return post_id


def test_collect_once_reads_the_due_figures_and_show_lists_them(
    org: Cli, httpserver: HTTPServer
) -> None:
    post_id = _published_on_mastodon(org, httpserver)
    httpserver.expect_oneshot_request(
        "/api/v1/statuses/4242", method="GET", headers={"Authorization": f"Bearer {TOKEN}"}
    ).respond_with_json(
        {"id": "4242", "favourites_count": 7, "reblogs_count": 2, "replies_count": 1}
    )
    before = org.ok("metrics", "show", str(post_id), "--as", "ed")

    said = org.ok("metrics", "collect", "--once", "--as", "boss")
    again = json.loads(org.ok("metrics", "collect", "--once", "--as", "boss", "--json"))
    table = org.ok("metrics", "show", str(post_id), "--as", "mia")  # her department's idea
    data = json.loads(org.ok("metrics", "show", str(post_id), "--as", "ed", "--json"))

    assert f"post {post_id} on Mastodon: not collected yet; 0 snapshot(s)" in before
    assert "1 post(s) read" in said and f"post {post_id}: collected" in said
    assert (again["claimed"], again["collected"]) == (0, [])  # the next round is a day away
    assert "active, next at " in table and "1 snapshot(s)" in table
    (snapshot,) = data["snapshots"]
    assert (snapshot["reactions"], snapshot["reposts"], snapshot["replies"]) == (7, 2, 1)
    assert (snapshot["impressions"], snapshot["link_clicks"]) == (None, None)
    assert data["collection"] == "active"
    assert [(f["outcome"], f["http_status"]) for f in data["fetches"]] == [("ok", 200)]


def test_collect_is_for_admins_and_needs_once(org: Cli) -> None:
    code, _out, err = org("metrics", "collect", "--once", "--as", "ed")
    assert code == 1
    assert "may not collect the figures of published posts now" in err
    code, _out, err = org("metrics", "collect", "--as", "boss")
    assert code == 2
    assert "pass --once" in err


def test_show_of_an_unknown_post_says_so(org: Cli) -> None:
    code, _out, err = org("metrics", "show", "999", "--as", "ed")
    assert code == 1
    assert "post" in err and "999" in err
