"""Facebook page: Graph API posts to the page feed; reactions, comments, shares and views
as metrics.

The page access token travels in the form body of a POST and in the Authorization
header of a GET, never in a URL, so it cannot end up in a proxy's or server's logs.

Graph errors come as {"error": {"message", "type", "code", "error_subcode",
"fbtrace_id"}}, mostly with HTTP 400 whatever went wrong, so the code decides: an
invalid or expired token or missing permission needs reconnecting, throttling codes
wait for the time the usage headers (X-Business-Use-Case-Usage, X-App-Usage,
X-Page-Usage) estimate, and a refused post (invalid parameter, duplicate, blocked) is
permanent. Graph has no idempotency key and does post the same text twice.

Images go up first, each to `/{page-id}/photos` as multipart `source` with
`published=false` (so no photo post of its own appears) and its alt text as
`alt_text_custom`; the feed post attaches them as `attached_media[n]` =
{"media_fbid": id}. A post with images carries its link at the end of its text, since
Graph makes a post with `link` a link preview, which takes no photos. A retry of the
post within the hour attaches the photos already uploaded (`upload_once`) rather than
sending them again; a failed upload means the post was not sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from publishers.base import (
    AuthError,
    DeliveryError,
    Media,
    Metrics,
    OutgoingPost,
    PermanentError,
    PostGone,
    Publisher,
    RateLimited,
    Receipt,
    Rule,
    SettingSpec,
    TransientError,
    answer,
    api_base_setting,
    bearer,
    count,
    gone_when_missing,
    secret_setting,
    timeout_setting,
)
from publishers.http import (
    error_for,
    json_object,
    json_object_or_empty,
    mask,
    retry_after,
    shorten,
    without_id,
)
from publishers.images import Limits
from publishers.media import before_the_post, upload_once
from publishers.text import with_link

if TYPE_CHECKING:
    from requests import Response

# Commonly cited limit of a page post's text; Meta's reference does not state one.
TEXT_LIMIT = 63206
DEFAULT_GRAPH_VERSION = "v23.0"
USAGE_HEADERS = ("X-Business-Use-Case-Usage", "X-App-Usage", "X-Page-Usage")
# Throttled without an estimate: Platform limits count calls over a rolling hour, so a
# retry within a minute would only be refused again.
THROTTLE_WAIT_SECONDS = 600.0
AUTH_CODES = frozenset({102, 190, 10})  # session, access token, permission
THROTTLE_CODES = frozenset({4, 17, 32, 613})  # app, user, page, custom limits
TRANSIENT_CODES = frozenset({1, 2})  # unknown error, service temporarily unavailable
# A post's figures: the edges' totals only (limit(0): without the lists of people).
METRIC_FIELDS = (
    "shares,reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)"
)
# Graph's "views" of a post, over its lifetime: the metric that replaced post impressions
# when Graph retired those (November 2025).
VIEWS_METRIC = "post_media_view"
PERMANENT_CODES = frozenset({100, 368, 506})  # invalid parameter, blocked, duplicate post
# Graph documents no maximum of photos in a page post; the planner sends up to ten.
MAX_PHOTOS = 10


def is_throttling(code: int) -> bool:
    """Whether a Graph error code means "too many calls" (80000-80014 are per-business)."""
    return code in THROTTLE_CODES or 80000 <= code <= 80014


def regain_access_seconds(response: Response) -> float | None:
    """The longest `estimated_time_to_regain_access` (minutes) in the usage headers."""
    minutes: list[float] = []
    for name in USAGE_HEADERS:
        try:
            usage = json.loads(response.headers.get(name) or "null")
        except ValueError:
            continue
        # X-Business-Use-Case-Usage maps business ids to lists; the others are one object.
        entries = (
            [e for value in usage.values() if isinstance(value, list) for e in value]
            if isinstance(usage, dict) and name == USAGE_HEADERS[0]
            else [usage]
        )
        for entry in entries:
            value = entry.get("estimated_time_to_regain_access") if isinstance(entry, dict) else 0
            if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                minutes.append(float(value))
    return max(minutes) * 60 if minutes else None


class FacebookPublisher(Publisher, kind="facebook", display_name="Facebook"):
    """Posts to one Facebook page's feed with a page access token."""

    public: ClassVar[bool] = True
    kind_name: ClassVar[str] = "Facebook page"
    text_limit: ClassVar[int | None] = TEXT_LIMIT
    supports_media: ClassVar[bool] = True
    # The Photo reference: JPEG, PNG or GIF (of its types, those the planner takes), a
    # static image smaller than 10 MB; no pixel limit is documented.
    media_limits: ClassVar[Limits | None] = Limits(
        max_count=MAX_PHOTOS,
        types=frozenset({"image/jpeg", "image/png", "image/gif"}),
        max_bytes=10_000_000 - 1,
    )
    reports_metrics: ClassVar[bool] = True
    connect_timeout: ClassVar[float | None] = 5.0
    settings_spec = (
        SettingSpec(
            "page_id",
            help="numeric id of the Facebook page",
            rule=Rule("not_numeric_id", "is not a numeric id", pattern=r"[0-9]+"),
        ),
        secret_setting(
            "page_access_token",
            "page access token (pages_manage_posts, pages_read_engagement); "
            "a long-lived one does not expire on its own",
        ),
        SettingSpec(
            "graph_version",
            required=False,
            default=DEFAULT_GRAPH_VERSION,
            help="Graph API version like v23.0; each is served for at least two years",
            rule=Rule("not_graph_version", "is not like v23.0", pattern=r"[vV]?[0-9]{1,3}\.[0-9]"),
        ),
        api_base_setting("the Graph API", "https://graph.facebook.com"),
        timeout_setting("Facebook", maximum=None),
    )

    @classmethod
    def clean_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The base checks; the Graph version written as Graph writes it (v23.0)."""
        clean = super().clean_settings(settings)
        version = clean["graph_version"].lower()
        clean["graph_version"] = version if version.startswith("v") else f"v{version}"
        return clean

    def _call(self, method: str, path: str, **kwargs: Any) -> Response:
        token = self.settings["page_access_token"]
        if method == "POST":
            kwargs["data"] = {**kwargs.get("data", {}), "access_token": token}
        else:
            kwargs["headers"] = bearer(token)
        url = f"{self.settings['api_base']}/{self.settings['graph_version']}/{path}"
        return self._checked_request(method, url, **kwargs)

    def _error(self, response: Response) -> DeliveryError | None:
        """The typed error for a Graph answer: the error code decides, else the status."""
        graph = json_object_or_empty(response).get("error")
        if not isinstance(graph, dict) or not isinstance(graph.get("code"), int):
            error = error_for(response, secrets=self._secrets)
            if isinstance(error, RateLimited):
                wait = regain_access_seconds(response)
                if wait is not None:
                    return RateLimited(error.message, retry_after=wait, http_status=429)
            return error
        status = response.status_code
        code: int = graph["code"]
        text = self._message(graph)
        if code in AUTH_CODES or 200 <= code <= 299:
            return AuthError(text, http_status=status)
        if is_throttling(code):
            wait = regain_access_seconds(response)
            if wait is None:
                wait = retry_after(response) if status == 429 else THROTTLE_WAIT_SECONDS
            return RateLimited(text, retry_after=wait, http_status=status)
        if code in PERMANENT_CODES:
            return PermanentError(text, http_status=status)
        if code in TRANSIENT_CODES or graph.get("is_transient") is True:
            return TransientError(text, http_status=status)
        return error_for(response, secrets=self._secrets, message=text) or PermanentError(
            text, http_status=status
        )

    def _message(self, graph: Mapping[str, Any]) -> str:
        """Graph's words for the editor, with the codes and trace id support asks for."""
        words = graph.get("error_user_msg") or graph.get("message") or "Graph API error"
        codes = f"code {graph.get('code')}"
        if graph.get("error_subcode"):
            codes += f", subcode {graph['error_subcode']}"
        if graph.get("fbtrace_id"):
            codes += f", fbtrace_id {graph['fbtrace_id']}"
        return shorten(mask(f"{str(words).strip()} ({codes})", self._secrets))

    def publish(self, post: OutgoingPost, idempotency_key: str) -> Receipt:
        """Upload the photos unpublished, then POST /{page-id}/feed with the message (and
        link, or the photos); Graph answers the post id."""
        with before_the_post():
            photo_ids = [
                upload_once(self, idempotency_key, index, item, self._upload)
                for index, item in enumerate(post.media)
            ]
        data = {"message": post.text}
        if photo_ids:
            data["message"] = with_link(post)
            for index, photo_id in enumerate(photo_ids):
                data[f"attached_media[{index}]"] = json.dumps({"media_fbid": photo_id})
        elif post.link:
            data["link"] = post.link
        response = self._call("POST", f"{self.settings['page_id']}/feed", data=data)
        ident = json_object(response, "Facebook", "the new post").get("id")
        if not isinstance(ident, str) or not re.fullmatch(r"[0-9]+_[0-9]+", ident):
            raise without_id(
                response,
                f"Facebook answered HTTP {response.status_code} without the new post's id",
            )
        page, _, number = ident.partition("_")
        return Receipt(
            external_id=ident,
            url=f"https://www.facebook.com/{page}/posts/{number}",
            http_status=response.status_code,
            raw={"id": ident},
        )

    def _upload(self, item: Media) -> str:
        """POST /{page-id}/photos unpublished, with its alt text; the photo's id."""
        fetched = self._fetch_media(item)
        data = {"published": "false"}
        if item.alt_text.strip():
            data["alt_text_custom"] = item.alt_text
        response = self._call(
            "POST",
            f"{self.settings['page_id']}/photos",
            data=data,
            files={"source": fetched.part},
        )
        ident = json_object(response, "Facebook", "the uploaded photo").get("id")
        if not isinstance(ident, str) or not re.fullmatch(r"[0-9]+", ident):
            raise TransientError(f"Facebook stored {item.name!r} but its answer has no photo id")
        return ident

    def fetch_metrics(self, receipt: Receipt) -> Metrics:
        """Reactions, comments and shares of the post (the totals of the edges' summaries,
        without their lists) and its views as impressions (`_views`)."""
        try:
            with gone_when_missing():
                response = self._call("GET", receipt.external_id, params={"fields": METRIC_FIELDS})
        except PermanentError as err:
            # Graph refuses a deleted post with 400, code 100: "Object ... does not exist".
            if not isinstance(err, PostGone) and "does not exist" in err.message:
                raise PostGone(err.message, http_status=err.http_status) from err
            raise
        answer = json_object(response, "Facebook", "the post")
        reactions = count(_summary(answer.get("reactions")), "total_count")
        replies = count(_summary(answer.get("comments")), "total_count")
        reposts = count(answer.get("shares"), "count")
        if reposts is None and (reactions is not None or replies is not None):
            reposts = 0  # Graph leaves `shares` out while nobody has shared
        views, insights = self._views(receipt.external_id)
        return Metrics(
            impressions=views,
            reactions=reactions,
            reposts=reposts,
            replies=replies,
            raw={**answer, "insights": insights},
        )

    def _views(self, post_id: str) -> tuple[int | None, object]:
        """How often the post was seen (`VIEWS_METRIC`, lifetime) and Graph's answer.

        Graph keeps Page insights only for Pages with 100 or more likes, and reads them
        only with the `read_insights` permission: where it refuses them for good, the views
        stay unknown (None, with Graph's words as the answer) and the other figures stand.
        A throttled or failed request raises, as any call of a reading does, so the round
        is read again later rather than stored without its views.
        """
        try:
            response = self._call(
                "GET", f"{post_id}/insights", params={"metric": VIEWS_METRIC, "period": "lifetime"}
            )
        except (PermanentError, AuthError) as err:
            return None, {"error": err.message}
        answer = json_object(response, "Facebook", "the post's insights")
        entries = answer.get("data")
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or entry.get("name") != VIEWS_METRIC:
                continue
            values = entry.get("values")
            if isinstance(values, list) and values:
                return count(values[-1], "value"), answer
        return None, answer

    def check_connection(self) -> str:
        """Read the page's name with the token: it is valid and belongs to this page."""
        response = self._call("GET", self.settings["page_id"], params={"fields": "id,name"})
        name = json_object(response, "Facebook", "the page").get("name") or self.settings["page_id"]
        return answer("facebook_page", "connected to the Facebook page {name}", name=name)


def _summary(edge: object) -> object:
    """The `summary` object of an edge in a Graph answer (None if there is none)."""
    return edge.get("summary") if isinstance(edge, dict) else None
