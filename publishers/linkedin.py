"""LinkedIn organisation page: the versioned Posts API, share statistics as metrics.

The commentary is LinkedIn's "little" text format, where \\ | { } @ [ ] ( ) < > # * _ ~
are markup: left bare, LinkedIn cuts the post at the first one it cannot parse, and
still answers 201. Every one is escaped with a backslash, except the # that starts a
hashtag (outside links), which LinkedIn shows as a hashtag.

LinkedIn sends no rate-limit headers: a 429 means a daily quota is spent, and quotas
reset at midnight UTC, so the wait runs until then. There is no idempotency key, but
LinkedIn refuses a post whose content it already has (422 DUPLICATE_POST, naming the
existing post; seen in practice, not documented): a re-send after a lost answer is
refused rather than published twice, and the error says so.

The 3,000-character limit is counted, to be safe, on the commentary as sent (escapes
included) in UTF-16 code units, which is how a Java service counts a string's length.

Files go up before the post: an image through the Images API, a PDF through the Documents
API (each `initializeUpload` for the page, then a PUT of the bytes to the `uploadUrl` it
answers), and the post names them: one image as `content.media` with its `altText`, 2 to
20 as `content.multiImage`, a PDF (alone) as `content.media` with the post's title. A
retry of the post within the hour names the files already uploaded (`upload_once`)
rather than sending them again; a failed upload means the post was not sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlsplit

from publishers.base import (
    DeliveryError,
    Media,
    Metrics,
    OutgoingPost,
    PermanentError,
    Problem,
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
    problem,
    secret_setting,
    timeout_setting,
)
from publishers.http import error_for, json_object, json_object_or_empty, shorten, without_id
from publishers.images import PDF_TYPE, Limits
from publishers.media import before_the_post, upload_once
from publishers.text import with_link

if TYPE_CHECKING:
    from requests import Response

TEXT_LIMIT = 3000
RESTLI_PROTOCOL_VERSION = "2.0.0"
# The newest monthly version the docs showed when this was written; each is served for
# about a year, so the setting must move on before this one is sunset.
DEFAULT_API_VERSION = "202605"
ORGANIZATION_URN = "urn:li:organization:"
# A multi-image post has 2 to 20 images (MultiImage API).
MAX_IMAGES = 20
MAX_ALT_TEXT = 4086  # the Posts API's limit of a media's altText
_UPLOADED_URN = re.compile(r"urn:li:(image|document):\S+")
RESERVED = frozenset("\\|{}@[]()<>#*_~")
# A hashtag starts with a letter; "#1" or a lone "#" is plain text and is escaped.
_HASHTAG = re.compile(r"(?<![\w#\\])#(?=[^\W\d_])")
_LINK = re.compile(r"https?://\S+", re.IGNORECASE)
_POST_URN = re.compile(r"urn:li:(share|ugcPost):[0-9]+")
# Our metric names -> the share statistics' fields.
# LinkedIn puts its Java exception class in front of the message; the editor needs the rest.
_EXCEPTION_PREFIX = re.compile(r"^(?:[\w$]+\.)+[\w$]*Exception:\s*")


def little_text(text: str) -> str:
    """`text` as plain "little" text: every reserved character escaped but hashtags."""
    inside_links = {i for m in _LINK.finditer(text) for i in range(m.start(), m.end())}
    hashtags = {m.start() for m in _HASHTAG.finditer(text)} - inside_links
    return "".join(
        f"\\{char}" if char in RESERVED and index not in hashtags else char
        for index, char in enumerate(text)
    )


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units: characters outside the BMP (most emoji) count 2."""
    return len(text.encode("utf-16-le")) // 2


def seconds_until_quota_reset(now: datetime | None = None) -> float:
    """Seconds from `now` until the next midnight UTC, when LinkedIn's daily quotas reset."""
    now = datetime.now(UTC) if now is None else now.astimezone(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    return (midnight - now).total_seconds()


class LinkedInPublisher(Publisher, kind="linkedin", display_name="LinkedIn"):
    """Posts as one LinkedIn organisation (company or showcase page)."""

    public: ClassVar[bool] = True
    kind_name: ClassVar[str] = "LinkedIn page"
    text_limit: ClassVar[int | None] = TEXT_LIMIT
    reports_metrics: ClassVar[bool] = True
    appends_link: ClassVar[bool] = True
    supports_media: ClassVar[bool] = True
    # The Images API takes JPEG, PNG and GIF of fewer than 36,152,320 pixels (6000 px on
    # the longer side keeps any shape below that); the Documents API a PDF. Neither names
    # a byte limit below the planner's own.
    media_limits: ClassVar[Limits | None] = Limits(
        max_count=MAX_IMAGES,
        types=frozenset({"image/jpeg", "image/png", "image/gif", PDF_TYPE}),
        max_side=6000,
    )
    connect_timeout: ClassVar[float | None] = 5.0
    settings_spec = (
        SettingSpec(
            "organization_id",
            help="number of the LinkedIn page, as in urn:li:organization:12345678",
            rule=Rule(
                "not_page_number",
                "is not a page number like 12345678",
                pattern=rf"(?:{re.escape(ORGANIZATION_URN)})?[0-9]+",
            ),
        ),
        secret_setting(
            "access_token",
            "OAuth access token of a page administrator or content admin "
            "(w_organization_social; rw_organization_admin for metrics)",
        ),
        SettingSpec(
            "api_version",
            required=False,
            default=DEFAULT_API_VERSION,
            help="LinkedIn API version as YYYYMM (sent as LinkedIn-Version); "
            "versions are retired after about a year",
            rule=Rule(
                "not_api_version",
                "is not a version like 202605",
                pattern=r"20[0-9]{2}(0[1-9]|1[0-2])(\.[0-9]{2})?",
            ),
        ),
        api_base_setting("the LinkedIn API", "https://api.linkedin.com"),
        timeout_setting("LinkedIn", maximum=None),
    )

    @classmethod
    def clean_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The base checks; the page kept as its number, without the URN around it."""
        clean = super().clean_settings(settings)
        clean["organization_id"] = clean["organization_id"].removeprefix(ORGANIZATION_URN)
        return clean

    @property
    def author(self) -> str:
        """The organisation URN that posts appear under."""
        return f"{ORGANIZATION_URN}{self.settings['organization_id']}"

    def _call(self, method: str, path: str, **kwargs: Any) -> Response:
        headers = {
            "LinkedIn-Version": self.settings["api_version"],
            "X-Restli-Protocol-Version": RESTLI_PROTOCOL_VERSION,
        }
        url, token = self.settings["api_base"] + path, self.settings["access_token"]
        return self._bearer_request(method, url, token, headers=headers, **kwargs)

    def _error(self, response: Response) -> DeliveryError | None:
        error = error_for(response, secrets=self._secrets, message=self._message(response))
        if error is None:
            return None
        if isinstance(error, RateLimited):
            # LinkedIn sends no Retry-After (one that ever comes wins): a daily quota is spent.
            if response.headers.get("Retry-After"):
                return error
            return RateLimited(
                error.message, retry_after=seconds_until_quota_reset(), http_status=429
            )
        if response.status_code == 426:
            # A retired LinkedIn-Version is answered with 426 Upgrade Required.
            return PermanentError(
                f"{error.message} (set a current api_version in the channel settings)",
                http_status=426,
            )
        if response.status_code == 422 and "DUPLICATE_POST" in response.text:
            return PermanentError(
                f"{error.message} (LinkedIn already has this post; an earlier attempt "
                "may have published it)",
                http_status=error.http_status,
            )
        return error

    def _message(self, response: Response) -> str | None:
        """LinkedIn's `message`, without the Java exception class in front of it."""
        text = json_object_or_empty(response).get("message")
        if not isinstance(text, str) or not text.strip():
            return None
        return shorten(_EXCEPTION_PREFIX.sub("", text.strip()))

    def commentary(self, post: OutgoingPost) -> str:
        """The commentary LinkedIn receives for `post`: its text in little format."""
        return little_text(with_link(post))

    def measure(self, text: str) -> int:
        return utf16_length(little_text(text))

    def validate(self, post: OutgoingPost) -> list[Problem]:
        problems = super().validate(post)
        documents = [item for item in post.media if _is_pdf(item)]
        if documents and len(post.media) > 1:
            problems.append(
                problem(
                    "media",
                    "document_alone",
                    "{channel} posts a PDF only on its own, without other files",
                    channel=self.display_name,
                )
            )
        else:
            problems += self._file_count_problems(post, MAX_IMAGES)
        problems += self._alt_text_problems(post, MAX_ALT_TEXT)
        return problems

    def publish(self, post: OutgoingPost, idempotency_key: str) -> Receipt:
        """Upload the files, then POST /rest/posts; the new post's URN comes back in the
        x-restli-id header."""
        with before_the_post():
            content = self._content(post, idempotency_key)
        body: dict[str, Any] = {
            "author": self.author,
            "commentary": self.commentary(post),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if content:
            body["content"] = content
        response = self._call("POST", "/rest/posts", json=body)
        urn = (response.headers.get("x-restli-id") or "").strip()
        if not _POST_URN.fullmatch(urn):
            raise without_id(
                response,
                f"LinkedIn answered HTTP {response.status_code} without the new post's id "
                "(x-restli-id); a re-send is refused as a duplicate if it was published",
            )
        return Receipt(
            external_id=urn,
            url=f"https://www.linkedin.com/feed/update/{urn}/",
            http_status=response.status_code,
        )

    def _content(self, post: OutgoingPost, idempotency_key: str) -> dict[str, Any]:
        """The post's `content` naming its uploaded files; empty without files."""
        if not post.media:
            return {}
        if len(post.media) == 1 and _is_pdf(post.media[0]):
            title = post.title.strip() or post.media[0].filename or "PDF"
            urn = upload_once(
                self,
                idempotency_key,
                0,
                post.media[0],
                lambda item: self._upload(item, "documents"),
            )
            return {"media": {"title": title, "id": urn}}
        shown = [
            {
                "id": upload_once(
                    self, idempotency_key, index, item, lambda m: self._upload(m, "images")
                ),
                "altText": item.alt_text,
            }
            for index, item in enumerate(post.media)
        ]
        if len(shown) == 1:
            return {"media": shown[0]}
        return {"multiImage": {"images": shown}}

    def _upload(self, item: Media, api: str) -> str:
        """Initialise an upload for the page in the Images or Documents API, PUT the bytes
        to its uploadUrl; the image's or document's URN."""
        fetched = self._fetch_media(item)
        response = self._call(
            "POST",
            f"/rest/{api}?action=initializeUpload",
            json={"initializeUploadRequest": {"owner": self.author}},
        )
        value = json_object(response, "LinkedIn", "the upload").get("value")
        value = value if isinstance(value, dict) else {}
        upload_url, urn = value.get("uploadUrl"), value.get(api.removesuffix("s"))
        if not isinstance(upload_url, str) or not upload_url.startswith(("https://", "http://")):
            raise TransientError(
                f"LinkedIn answered the upload of {item.name!r} without an uploadUrl"
            )
        if not isinstance(urn, str) or not _UPLOADED_URN.fullmatch(urn):
            raise TransientError(f"LinkedIn answered the upload of {item.name!r} without its URN")
        # The token goes only to LinkedIn itself (or the server that stands in for its API).
        host = urlsplit(upload_url).hostname or ""
        ours = host == urlsplit(self.settings["api_base"]).hostname or host.endswith(
            ".linkedin.com"
        )
        headers = bearer(self.settings["access_token"]) if ours else {}
        self._checked_request("PUT", upload_url, data=fetched.content, headers=headers)
        return urn

    def fetch_metrics(self, receipt: Receipt) -> Metrics:
        """Lifetime organic statistics of the post (organizationalEntityShareStatistics):
        impressions, likes, shares, comments and clicks; None while LinkedIn has none."""
        match = _POST_URN.fullmatch(receipt.external_id)
        if match is None:
            raise PermanentError(f"{receipt.external_id!r} is no LinkedIn post URN")
        # Rest.li 2.0: URNs are percent-encoded, List(...) syntax is not.
        field = "shares" if match.group(1) == "share" else "ugcPosts"
        query = (
            "q=organizationalEntity"
            f"&organizationalEntity={quote(self.author, safe='')}"
            f"&{field}=List({quote(receipt.external_id, safe='')})"
        )
        response = self._call("GET", f"/rest/organizationalEntityShareStatistics?{query}")
        answer = json_object(response, "LinkedIn", "the share statistics")
        elements = answer.get("elements")
        first = elements[0] if isinstance(elements, list) and elements else None
        totals = first.get("totalShareStatistics") if isinstance(first, dict) else None
        return Metrics(
            impressions=count(totals, "impressionCount"),
            reactions=count(totals, "likeCount"),
            reposts=count(totals, "shareCount"),
            replies=count(totals, "commentCount"),
            link_clicks=count(totals, "clickCount"),
            raw=answer,
        )

    def check_connection(self) -> str:
        """Look the page up: the token works and the version is still served."""
        response = self._call("GET", f"/rest/organizations/{self.settings['organization_id']}")
        name = json_object(response, "LinkedIn", "the page").get("localizedName") or self.author
        return answer("linkedin_page", "connected to the LinkedIn page {name}", name=name)


def _is_pdf(item: Media) -> bool:
    return item.mime_type == PDF_TYPE or item.name.lower().endswith(".pdf")
