"""WordPress blog: REST API with an application password, posts under a slug derived from the
idempotency key, so a repeat finds the post it may already have created.

WordPress has no idempotency key and accepts a second copy of any post. Every publish
therefore first looks for a post with its slug (`status=any`, which needs the credentials)
and only creates one when none exists. The text is escaped and rendered here as paragraph
blocks: nothing an editor types becomes markup on the site.

Images go into the media library first, with their alt text. A retry of the post within
the hour uses the images already uploaded (`upload_once`) rather than adding them to the
library again; a failed upload means the post was not created.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from publishers import images
from publishers.base import (
    AuthError,
    DeliveryError,
    Media,
    Metrics,
    OutgoingPost,
    PermanentError,
    Publisher,
    Receipt,
    Rule,
    SettingSpec,
    TransientError,
    answer,
    gone_when_missing,
    secret_setting,
    server_setting,
    timeout_setting,
)
from publishers.http import (
    channel_message,
    error_for,
    json_object_or_empty,
    json_or_none,
    unreadable_answer,
    without_id,
)
from publishers.images import Limits
from publishers.markup import blocks, escape_markup, excerpt, one_line, paragraph_html
from publishers.media import before_the_post, upload_once
from publishers.text import with_link

if TYPE_CHECKING:
    from requests import Response

POST_STATUSES = ("publish", "pending", "draft", "private")
SLUG_TITLE_LENGTH = 60
SLUG_KEY_LENGTH = 10
_TAGS = re.compile(r"<[^>]*>")
_GERMAN = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}
)


def slug_for(title: str, idempotency_key: str) -> str:
    """The post's slug: the title in ASCII plus a short hash of the key, stable across retries."""
    ascii_title = (
        unicodedata.normalize("NFKD", title.translate(_GERMAN))
        .encode("ascii", "ignore")
        .decode("ascii")
    )
    words = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    if len(words) > SLUG_TITLE_LENGTH:
        cut = words[: SLUG_TITLE_LENGTH + 1]  # one more, to see whether a word ends there
        words = cut.rsplit("-", 1)[0] if "-" in cut else cut[:SLUG_TITLE_LENGTH]
    short = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:SLUG_KEY_LENGTH]
    return f"{words or 'post'}-{short}"


def content_html(text: str) -> str:
    """The post body as paragraph blocks for the block editor, every character escaped."""
    return "\n\n".join(
        f"<!-- wp:paragraph -->\n<p>{paragraph_html(block)}</p>\n<!-- /wp:paragraph -->"
        for block in blocks(text)
    )


def image_block(media_id: int, address: str, alt_text: str) -> str:
    """An uploaded image as an image block of the block editor, its alt text escaped."""
    return (
        f'<!-- wp:image {{"id":{media_id}}} -->\n<figure class="wp-block-image">'
        f'<img src="{html.escape(address)}" alt="{html.escape(alt_text)}" '
        f'class="wp-image-{media_id}"/></figure>\n<!-- /wp:image -->'
    )


class WordPressPublisher(Publisher, kind="wordpress", display_name="WordPress blog"):
    """Publishes blog posts to a WordPress site (5.6 or newer) through its REST API."""

    public: ClassVar[bool] = True
    titled_as: ClassVar[str] = "a blog post"
    supports_media: ClassVar[bool] = True
    # Uploaded to the media library: the first image becomes the featured image, every one
    # is shown after the text. WordPress makes its own sizes; 2560 px is its "big" limit.
    media_limits: ClassVar[Limits | None] = Limits(
        max_count=10,
        types=frozenset(images.IMAGE_TYPES.values()),
        max_side=2560,
        max_bytes=8 * 1024 * 1024,
    )
    connect_timeout: ClassVar[float | None] = 5.0
    can_look_up: ClassVar[bool] = True  # by the slug the key gives
    reports_metrics: ClassVar[bool] = True
    settings_spec = (
        server_setting("site_url", "address of the blog, e.g. https://www.example.de"),
        SettingSpec(
            "username",
            help="WordPress user the posts are published as (Author role or higher)",
        ),
        secret_setting(
            "application_password",
            "an application password of that user (Users → Profile → Application "
            "Passwords), not the login password",
        ),
        SettingSpec(
            "category_ids",
            required=False,
            default="",
            help="ids of the categories every post goes into, comma-separated, e.g. 3,7 "
            "(empty: the site's default category)",
            comma_list=True,
            rule=Rule(
                "not_number_list",
                "is not a comma-separated list of numbers",
                pattern=r"\d+(?:,\d+)*",
            ),
        ),
        SettingSpec(
            "post_status",
            required=False,
            default="publish",
            choices=POST_STATUSES,
            help="publish (live at once), pending (for review in WordPress), draft or private",
        ),
        SettingSpec(
            "pretty_permalinks",
            type="bool",
            required=False,
            default=True,
            help="off only when the site's permalinks are set to 'Plain': the API is then "
            "reached at ?rest_route= instead of /wp-json/",
        ),
        timeout_setting("the site", maximum=None),
    )

    @classmethod
    def reaches_public(cls, settings: Mapping[str, Any]) -> bool:
        """Only published posts are for anyone to read (not drafts, pending or private)."""
        return settings.get("post_status") in (None, "", "publish")

    @property
    def category_ids(self) -> list[int]:
        """The categories every post is filed under."""
        ids = self.settings["category_ids"]
        return [int(part) for part in ids.split(",")] if ids else []

    def _url(self, route: str) -> str:
        site = self.settings["site_url"]
        if self.settings["pretty_permalinks"]:
            return f"{site}/wp-json{route}"
        return f"{site}/?rest_route={route}"

    def _call(self, method: str, route: str, **kwargs: Any) -> Response:
        """One authenticated request; any status but 2xx raises the typed error."""
        return self._checked_request(method, self._url(route), auth=self._auth, **kwargs)

    def _send(self, method: str, route: str, **kwargs: Any) -> Response:
        """One authenticated request, whatever it answers."""
        return self._request(method, self._url(route), auth=self._auth, **kwargs)

    @property
    def _auth(self) -> tuple[str, str]:
        return (self.settings["username"], self.settings["application_password"])

    def _error(self, response: Response) -> DeliveryError | None:
        return _error_for(response, self._secrets)

    def publish(self, post: OutgoingPost, idempotency_key: str) -> Receipt:
        """Return the post already published under this key's slug, or create it."""
        slug = slug_for(post.title, idempotency_key)
        existing = self._find(slug)
        if existing is not None:
            return _receipt(existing, http_status=200, found=True)
        text = with_link(post)
        with before_the_post():
            uploaded = [
                upload_once(self, idempotency_key, index, item, self._upload)
                for index, item in enumerate(post.media)
            ]
        body: dict[str, Any] = {
            "title": escape_markup(one_line(post.title)),
            "content": "\n\n".join(
                [content_html(text), *(image_block(*found) for found in uploaded)]
            ),
            "excerpt": escape_markup(excerpt(text)),
            "status": self.settings["post_status"],
            "slug": slug,
        }
        if uploaded:
            body["featured_media"] = uploaded[0][0]
        if self.category_ids:
            body["categories"] = self.category_ids
        tags = self._tag_ids(post.tags)
        if tags:
            body["tags"] = tags
        response = self._call("POST", "/wp/v2/posts", json=body)
        created = _json(response, "the new post")
        if not isinstance(created, dict) or not created.get("id"):
            # Safe to retry: the slug lookup finds the post if it was created after all.
            raise without_id(
                response,
                f"WordPress answered HTTP {response.status_code} without the new post's id",
            )
        return _receipt(created, http_status=response.status_code, found=False)

    def _upload(self, item: Media) -> tuple[int, str, str]:
        """Upload one image to the media library with its alt text: (id, address, alt)."""
        file = self._fetch_media(item)
        response = self._call(
            "POST",
            "/wp/v2/media",
            files={"file": file.part},
            data={"alt_text": item.alt_text},
        )
        stored = _json(response, "the uploaded image")
        if not isinstance(stored, dict) or not isinstance(stored.get("id"), int):
            raise TransientError(
                f"WordPress stored {file.filename!r} but its answer has no id",
                http_status=response.status_code,
            )
        return int(stored["id"]), str(stored.get("source_url") or ""), item.alt_text

    def lookup(self, post: OutgoingPost, idempotency_key: str) -> Receipt | None:
        """The post under the slug this key gives, in any status but trash; None if none."""
        existing = self._find(slug_for(post.title, idempotency_key))
        return None if existing is None else _receipt(existing, http_status=200, found=True)

    def fetch_metrics(self, receipt: Receipt) -> Metrics:
        """The post's comment count: `X-WP-Total` of GET /wp/v2/comments?post={id} (one
        comment per page is enough to get it). Core WordPress keeps no views."""
        with gone_when_missing():
            response = self._call(
                "GET", "/wp/v2/comments", params={"post": receipt.external_id, "per_page": 1}
            )
        total = response.headers.get("X-WP-Total", "").strip()
        if not total.isdigit():
            raise PermanentError(
                f"WordPress answered the comments of post {receipt.external_id} without a "
                "count (X-WP-Total); does a proxy drop the header?",
                http_status=response.status_code,
            )
        return Metrics(replies=int(total), raw={"X-WP-Total": int(total)})

    def _find(self, slug: str) -> dict[str, Any] | None:
        """The post with `slug` in any status but trash (drafts need the credentials)."""
        response = self._call("GET", "/wp/v2/posts", params={"slug": slug, "status": "any"})
        found = _json(response, "the post lookup")
        if not isinstance(found, list):
            raise TransientError(
                f"WordPress answered the post lookup with HTTP {response.status_code} but no "
                "list; is site_url the address of a WordPress site?",
                http_status=response.status_code,
            )
        for item in found:
            if isinstance(item, dict) and item.get("slug") == slug and item.get("id"):
                return item
        return None

    def _tag_ids(self, names: Iterable[str]) -> list[int]:
        """Ids of the post's tags: found by name, or created (Authors may create tags)."""
        ids: list[int] = []
        seen: set[str] = set()
        for raw in names:
            name = one_line(str(raw)).lstrip("#").strip()
            if not name or name.casefold() in seen:
                continue
            seen.add(name.casefold())
            tag_id = self._existing_tag(name)
            if tag_id is None:
                tag_id = self._create_tag(name)
            if tag_id not in ids:
                ids.append(tag_id)
        return ids

    def _existing_tag(self, name: str) -> int | None:
        response = self._call("GET", "/wp/v2/tags", params={"search": name, "per_page": 100})
        found = _json(response, "the tag search")
        for item in found if isinstance(found, list) else []:
            if not isinstance(item, dict) or not isinstance(item.get("id"), int):
                continue
            # WordPress stores term names HTML-escaped ("B&amp;B").
            if html.unescape(str(item.get("name", ""))).casefold() == name.casefold():
                return int(item["id"])
        return None

    def _create_tag(self, name: str) -> int:
        response = self._send("POST", "/wp/v2/tags", json={"name": name})
        existing = _existing_term_id(response)
        if existing is not None:
            return existing
        error = self._error(response)
        if error is not None:
            raise error
        answer = _json(response, "the new tag")
        if not isinstance(answer, dict) or not isinstance(answer.get("id"), int):
            raise TransientError(
                f"WordPress created the tag {name!r} but its answer has no id",
                http_status=response.status_code,
            )
        return int(answer["id"])

    def check_connection(self) -> str:
        """Sign in as the user and check that it may publish (or submit) posts."""
        response = self._call("GET", "/wp/v2/users/me", params={"context": "edit"})
        user = _json(response, "the signed-in user")
        if not isinstance(user, dict) or not user.get("id"):
            raise TransientError(
                f"WordPress answered HTTP {response.status_code} without the signed-in user; "
                "is site_url the address of a WordPress site?",
                http_status=response.status_code,
            )
        name = user.get("name") or user.get("slug") or self.settings["username"]
        capabilities = user.get("capabilities")
        if isinstance(capabilities, dict) and capabilities:
            needed = "publish_posts" if self.settings["post_status"] == "publish" else "edit_posts"
            if not capabilities.get(needed):
                raise AuthError(
                    f"the WordPress user {name!r} lacks the {needed!r} capability; give it the "
                    "Author role (or higher), or set post_status to pending",
                    http_status=response.status_code,
                )
        return answer(
            "wordpress_signed_in",
            "signed in to {site} as {name}",
            site=self.settings["site_url"],
            name=name,
        )


def _receipt(post: Mapping[str, Any], *, http_status: int, found: bool) -> Receipt:
    link = post.get("link")
    return Receipt(
        external_id=str(post["id"]),
        url=link if isinstance(link, str) and link.startswith(("https://", "http://")) else None,
        http_status=http_status,
        raw={
            "id": post["id"],
            "slug": post.get("slug"),
            "status": post.get("status"),
            "link": link,
            "found_existing": found,
        },
    )


def _json(response: Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError as err:
        raise unreadable_answer(
            response,
            "WordPress",
            what,
            "JSON; is site_url the address of a WordPress site with the REST API on?",
        ) from err


def _existing_term_id(response: Response) -> int | None:
    """The id WordPress names when a tag of that name exists (created meanwhile, or
    beyond the search's first 100 results)."""
    if response.status_code != 400:
        return None
    answer = json_object_or_empty(response)
    if answer.get("code") != "term_exists":
        return None
    data = answer.get("data")
    if not isinstance(data, dict):
        return None
    term_id = data.get("term_id")
    return term_id if isinstance(term_id, int) else None


def _error_for(response: Response, secrets: list[str]) -> DeliveryError | None:
    """The typed error for a WordPress answer, with its message as plain text."""
    if 200 <= response.status_code < 300:
        return None
    message = html.unescape(_TAGS.sub("", channel_message(response, secrets))).strip()
    body = json_or_none(response)
    code = body.get("code") if isinstance(body, dict) else None
    if _forbidden_status(body):
        # `status=any` from a request WordPress saw as anonymous: the credentials did not
        # arrive or were not accepted, though WordPress reports it as a bad parameter.
        return AuthError(
            f"{message} (WordPress did not accept the credentials for looking up posts: "
            "check username and application password, and that the web server passes the "
            "Authorization header on)",
            http_status=response.status_code,
        )
    if code in ("rest_not_logged_in", "incorrect_password", "invalid_username", "invalid_email"):
        return AuthError(message or str(code), http_status=response.status_code)
    if 300 <= response.status_code < 400:
        return error_for(response, secrets=secrets)  # its message names the new address
    return error_for(response, secrets=secrets, message=message or None)


def _forbidden_status(body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    if body.get("code") == "rest_forbidden_status":
        return True
    data = body.get("data")
    details = data.get("details") if isinstance(data, dict) else None
    status = details.get("status") if isinstance(details, dict) else None
    return isinstance(status, dict) and status.get("code") == "rest_forbidden_status"
