"""X (formerly Twitter): POST /2/tweets with a user's OAuth 2.0 token, metrics, a budget.

Length is counted the way X does (twitter-text 3, configuration v3): after NFC
normalisation every code point in U+0000-U+10FF, U+2000-U+200D, U+2010-U+201F and
U+2032-U+2037 weighs 1 and every other one 2; an emoji, however many code points its
sequence takes (skin tones, ZWJ families, flags, keycaps), weighs 2; every link weighs
23, the length of the t.co address X puts in its place. Links are found the way
twitter-text finds them, closely but not exactly: with a scheme any host counts, without
one the domain must end in a country code or one of the common generic endings below. A
name of one label under a country code without a scheme (firma.de, bit.ly) is a link
only when a path follows it (firma.de/jobs), unless the code is .co or .tv (t.co); with
more labels (www.firma.de) or a generic ending (firma.com) it is a link without a path.

X keeps no idempotency key. It refuses a post whose text it already has with a 403 that
is no credentials problem: that becomes a PermanentError saying an earlier attempt may
already have posted it.

Images go up first, each in one `POST /2/media/upload` (multipart `media` with its
`media_category`; the simple upload is documented for images), its alt text after it
with `POST /2/media/metadata`, and the post names them in `media.media_ids`: up to four
images, or one animated GIF alone. A file uploaded to the planner is a still image (the
planner refuses animated uploads), so it goes up as `tweet_image`; a GIF given by
its address may move and goes up as `tweet_gif`. A retry of the post within the hour
names the images already uploaded (`upload_once`; X keeps an unused upload for a day)
rather than sending them again; a failed upload means the post was not sent.
"""

from __future__ import annotations

import re
import time
import unicodedata
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

import regex

from publishers.base import (
    DeliveryError,
    Media,
    Metrics,
    OutgoingPost,
    PermanentError,
    PostGone,
    Problem,
    Publisher,
    RateLimited,
    Receipt,
    Rule,
    TransientError,
    answer,
    api_base_setting,
    count,
    gone_when_missing,
    number_setting,
    problem,
    secret_setting,
    timeout_setting,
)
from publishers.http import (
    error_for,
    json_object_or_empty,
    retry_after,
    shorten,
    unreadable_answer,
    without_id,
)
from publishers.images import Limits
from publishers.media import before_the_post, upload_once
from publishers.text import with_link

if TYPE_CHECKING:
    from requests import Response

TEXT_LIMIT = 280
URL_WEIGHT = 23
DEFAULT_WEIGHT = 2
# twitter-text config v3: code point ranges that weigh 1 (everything else weighs 2).
LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
DUPLICATE_MARKER = "duplicate content"
# Our metric names -> the fields of the post's public_metrics.
MAX_IMAGES = 4
MAX_ALT_TEXT = 1000  # media metadata: alt_text.text
GIF_TYPE = "image/gif"
# 24-hour windows X reports beside the 15-minute one (x-rate-limit-*).
DAILY_LIMIT_PREFIXES = ("x-user-limit-24hour", "x-app-limit-24hour")

_EMOJI = regex.compile(
    r"[\U0001F1E6-\U0001F1FF]{2}"  # a flag: two regional indicators
    r"|[#*0-9]\uFE0F?\u20E3"  # a keycap
    r"|\U0001F3F4[\U000E0061-\U000E007A]+\U000E007F"  # England, Scotland, Wales
    r"|\p{Extended_Pictographic}\uFE0F?\p{Emoji_Modifier}?"
    r"(?:\u200D\p{Extended_Pictographic}\uFE0F?\p{Emoji_Modifier}?)*"
)

# twitter-text's character classes for the path and query of a link.
_LATIN = (
    "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259"
    "\u025b\u0263\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_PATH_CHAR = rf"[a-z\u0400-\u04ff0-9!*';:=+,.$/%#\[\]\-\u2013_~@|&{_LATIN}]"
_PATH_END = re.compile(rf"[+\-a-z\u0400-\u04ff0-9=_#/{_LATIN}]", re.IGNORECASE)
_PARENS = rf"\({_PATH_CHAR}*(?:\({_PATH_CHAR}+\){_PATH_CHAR}*)?\)"
_QUERY_END = re.compile(r"[a-z0-9\-_&=#/]", re.IGNORECASE)
# A host label: anything but ASCII punctuation, spaces and direction marks.
_LABEL_CHAR = r"[^\s!-/:-@\[-`{-~\u00a0\u2000-\u200f\u2028-\u202f\u205f\u3000\ufeff\ufffe\uffff]"
# Every country-code ending (IANA's two-letter list as twitter-text 3 has it) and the
# generic endings a German-speaking company's texts commonly name; twitter-text knows
# over a thousand generic ones, so a rarer one without a scheme counts as plain text.
_CCTLDS = (
    "ac ad ae af ag ai al am an ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm "
    "bn bo bq br bs bt bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz "
    "de dj dk dm do dz ec ee eg eh er es et eu fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl "
    "gm gn gp gq gr gs gt gu gw gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo "
    "jp ke kg kh ki km kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mf mg "
    "mh mk ml mm mn mo mp mq mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz "
    "om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si "
    "sj sk sl sm sn so sr ss st su sv sx sy sz tc td tf tg th tj tk tl tm tn to tp tr tt tv "
    "tw tz ua ug uk um us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw"
).split()
_GTLDS = (
    "academy agency app art bar bayern berlin bio biz blog business cafe career careers "
    "center click cloud club com community company consulting dev digital eco education "
    "email energy events expert finance fitness gmbh green group hamburg health immobilien "
    "info jobs koeln link live ltd media museum name net network news nrw online org page "
    "photo photography pro radio ruhr saarland school services shop site social software "
    "solutions store studio swiss systems team tech tirol travel versicherung video wien "
    "website wiki work world xyz"
).split()
_TLD = "|".join(sorted(_CCTLDS + _GTLDS, key=len, reverse=True))
# A country code under which a name of one label is a link even without a path.
_SPECIAL_CCTLDS = frozenset({"co", "tv"})
_QUERY_CHAR = r"[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]"
_TAIL = rf"(?::[0-9]+)?(?P<path>/(?:{_PARENS}|{_PATH_CHAR})*)?(?P<query>\?{_QUERY_CHAR}*)?"
_URL_WITH_SCHEME = re.compile(
    r"(?<![A-Za-z0-9@＠$#＃])https?://"
    rf"(?:{_LABEL_CHAR}(?:[\-_]|{_LABEL_CHAR})*\.)+"
    # With a scheme, any ending of two letters or more (twitter-text checks its list).
    rf"(?:xn--[a-z0-9\-]+|(?:(?![\d_]){_LABEL_CHAR}){{2,}})"
    rf"(?![a-z0-9@+\-]){_TAIL}",
    re.IGNORECASE,
)
_URL_WITHOUT_SCHEME = re.compile(
    r"(?<![A-Za-z0-9@＠$#＃\-_./])"
    rf"(?P<host>(?:[\-a-z0-9{_LATIN}]+\.)+(?:xn--[a-z0-9\-]+|{_TLD}))(?![a-z0-9@+\-]){_TAIL}",
    re.IGNORECASE,
)
_PATH_TOKEN = re.compile(rf"{_PARENS}|{_PATH_CHAR}", re.IGNORECASE)


def _link_end(match: re.Match[str]) -> int:
    """Where a matched link ends: path and query lose what twitter-text would not end on."""
    end = match.start("query") if match.group("query") else match.end()
    if match.group("path"):
        tokens = [t.group() for t in _PATH_TOKEN.finditer(match.group("path")[1:])]
        while tokens and not (tokens[-1].startswith("(") or _PATH_END.match(tokens[-1])):
            tokens.pop()
        end = match.start("path") + 1 + sum(len(t) for t in tokens)
        if end < match.end("path"):
            return end  # a query only follows a path that ends well
    query = match.group("query") or ""
    ends = [i for i, char in enumerate(query) if _QUERY_END.match(char)]
    return match.start("query") + ends[-1] + 1 if ends else end


def _short_domain(match: re.Match[str]) -> bool:
    """Whether a link found without a scheme is a name of one label under a country code
    other than .co and .tv with no path after it (firma.de, bit.ly): twitter-text takes
    such a name for plain text (its invalidShortDomain rule)."""
    if match.group("path"):
        return False
    labels = match.group("host").lower().split(".")
    return len(labels) == 2 and labels[1] in _CCTLDS and labels[1] not in _SPECIAL_CCTLDS


def link_spans(text: str) -> list[tuple[int, int]]:
    """The (start, end) of every link twitter-text would find in `text`, in order."""
    spans: list[tuple[int, int]] = []
    for pattern in (_URL_WITH_SCHEME, _URL_WITHOUT_SCHEME):
        for match in pattern.finditer(text):
            if pattern is _URL_WITHOUT_SCHEME and _short_domain(match):
                continue
            end = _link_end(match)
            if not any(s < end and match.start() < e for s, e in spans):
                spans.append((match.start(), end))
    return sorted(spans)


def _weight(char: str) -> int:
    point = ord(char)
    return 1 if any(lo <= point <= hi for lo, hi in LIGHT_RANGES) else DEFAULT_WEIGHT


def weighted_length(text: str) -> int:
    """The length X checks against its 280 limit (twitter-text's weightedLength)."""
    text = unicodedata.normalize("NFC", re.sub(r"\r\n|\r", "\n", text))
    links = dict(link_spans(text))
    emoji = {m.start(): m.end() for m in _EMOJI.finditer(text)}
    total = 0
    index = 0
    while index < len(text):
        if index in links:
            total += URL_WEIGHT
            index = links[index]
        elif index in emoji:
            total += DEFAULT_WEIGHT
            index = emoji[index]
        else:
            total += _weight(text[index])
            index += 1
    return total


class XPublisher(Publisher, kind="x", display_name="X"):
    """Posts to one X account with an OAuth 2.0 user-context token."""

    public: ClassVar[bool] = True
    text_limit: ClassVar[int | None] = TEXT_LIMIT
    reports_metrics: ClassVar[bool] = True
    counted_as: ClassVar[str] = "weighted characters"
    appends_link: ClassVar[bool] = True
    supports_media: ClassVar[bool] = True
    # X takes JPEG, PNG, WebP and GIF images of at most 5 MB, four to a post (an animated
    # GIF alone);
    # it shows none larger than 4096 px, so more pixels only cost upload time.
    media_limits: ClassVar[Limits | None] = Limits(
        max_count=MAX_IMAGES,
        types=frozenset({"image/jpeg", "image/png", "image/webp", GIF_TYPE}),
        max_side=4096,
        max_bytes=5 * 1024 * 1024,
    )
    connect_timeout: ClassVar[float | None] = 5.0
    settings_spec = (
        secret_setting(
            "access_token",
            "OAuth 2.0 user access token of the account "
            "(scopes tweet.write, tweet.read and users.read; media.write for images)",
        ),
        api_base_setting("the X API", "https://api.x.com"),
        number_setting(
            "monthly_post_budget",
            "most posts a month on this account (X bills each post); empty for no limit",
            Rule("below", "is below 0", low=0),
        ),
        timeout_setting("X", maximum=None),
    )

    @property
    def monthly_post_budget(self) -> int | None:
        """The most posts a month this channel may send, or None for no limit."""
        budget: int | None = self.settings["monthly_post_budget"]
        return budget

    def budget_left(self, posts_this_month: int) -> int | None:
        """Posts still allowed this month, given how many went out; None without a budget.

        The adapter keeps no state: the engine counts this channel's posts in the month and
        must ask before publishing, holding the post while the answer is 0.
        """
        if self.monthly_post_budget is None:
            return None
        return max(0, self.monthly_post_budget - max(0, posts_this_month))

    def _call(self, method: str, path: str, **kwargs: Any) -> Response:
        url, token = self.settings["api_base"] + path, self.settings["access_token"]
        return self._bearer_request(method, url, token, **kwargs)

    def _error(self, response: Response) -> DeliveryError | None:
        error = error_for(response, secrets=self._secrets, message=self._message(response))
        if error is None:
            return None
        if isinstance(error, RateLimited):
            return RateLimited(
                error.message, retry_after=_rate_limit_wait(response), http_status=429
            )
        if response.status_code == 403 and DUPLICATE_MARKER in response.text.lower():
            # Not a credentials problem: X already has a post with exactly this text.
            return PermanentError(
                f"{error.message} (an earlier attempt may already have posted it)",
                http_status=403,
            )
        return error

    def _message(self, response: Response) -> str | None:
        """X's own words: the first `errors[].message`, else the problem's detail or title."""
        body = json_object_or_empty(response)
        errors = body.get("errors")
        first = errors[0] if isinstance(errors, list) and errors else None
        for text in (
            first.get("message") if isinstance(first, dict) else None,
            body.get("detail"),
            body.get("title"),
        ):
            if isinstance(text, str) and text.strip():
                return shorten(text.strip())
        return None

    def measure(self, text: str) -> int:
        return weighted_length(text)

    def validate(self, post: OutgoingPost) -> list[Problem]:
        problems = super().validate(post)
        if len(post.media) > 1 and any(_is_animation(item) for item in post.media):
            problems.append(
                problem(
                    "media",
                    "gif_alone",
                    "{channel} takes a GIF only alone",
                    channel=self.display_name,
                )
            )
        else:
            problems += self._file_count_problems(post, MAX_IMAGES)
        problems += self._alt_text_problems(post, MAX_ALT_TEXT)
        return problems

    def publish(self, post: OutgoingPost, idempotency_key: str) -> Receipt:
        """Upload the images, then POST /2/tweets; X has no idempotency key (see the module
        docstring)."""
        with before_the_post():
            media_ids = [
                upload_once(self, idempotency_key, index, item, self._upload)
                for index, item in enumerate(post.media)
            ]
        body: dict[str, Any] = {"text": with_link(post)}
        if media_ids:
            body["media"] = {"media_ids": media_ids}
        response = self._call("POST", "/2/tweets", json=body)
        data = _data(response, "the new post")
        ident = data.get("id")
        if not isinstance(ident, str) or not re.fullmatch(r"[0-9]+", ident):
            raise without_id(
                response,
                "X accepted the post but its answer has no post id",
            )
        return Receipt(
            external_id=ident,
            url=f"https://x.com/i/web/status/{ident}",
            http_status=response.status_code,
            raw=data,
        )

    def _upload(self, item: Media) -> str:
        """POST /2/media/upload, then the alt text to /2/media/metadata; the media id."""
        fetched = self._fetch_media(item)
        animation = not item.uploaded and fetched.mime_type == GIF_TYPE
        category = "tweet_gif" if animation else "tweet_image"
        response = self._call(
            "POST",
            "/2/media/upload",
            files={"media": fetched.part},
            data={"media_category": category},
        )
        ident = _data(response, "the uploaded image").get("id")
        if not isinstance(ident, str) or not re.fullmatch(r"[0-9]+", ident):
            raise TransientError(f"X stored {item.name!r} but its answer has no media id")
        if item.alt_text.strip():
            self._call(
                "POST",
                "/2/media/metadata",
                json={"id": ident, "metadata": {"alt_text": {"text": item.alt_text}}},
            )
        return ident

    def fetch_metrics(self, receipt: Receipt) -> Metrics:
        """Public metrics of the post (X bills this read): impressions, likes, retweets and
        quotes, replies."""
        with gone_when_missing():
            response = self._call(
                "GET",
                f"/2/tweets/{quote(receipt.external_id, safe='')}",
                params={"tweet.fields": "public_metrics"},
            )
        answer = json_object_or_empty(response)
        if "data" not in answer and _not_found(answer):
            # X answers 200 with only `errors` for a post deleted since.
            raise PostGone(f"post {receipt.external_id} is not on X (any more)", http_status=200)
        figures = _data(response, "the post").get("public_metrics")
        return Metrics(
            impressions=count(figures, "impression_count"),
            reactions=count(figures, "like_count"),
            reposts=count(figures, "retweet_count", "quote_count"),
            replies=count(figures, "reply_count"),
            raw=answer,
        )

    def check_connection(self) -> str:
        """GET /2/users/me: the token works and belongs to this account."""
        data = _data(self._call("GET", "/2/users/me"), "the account")
        return answer(
            "x_signed_in", "signed in to X as @{handle}", handle=data.get("username", "?")
        )


def _is_animation(item: Media) -> bool:
    """Whether `item` may be an animated GIF: one given by its address (an uploaded GIF is
    a still image: the planner refuses animated uploads)."""
    return not item.uploaded and (
        item.mime_type == GIF_TYPE or item.url.lower().split("?")[0].endswith(".gif")
    )


def _rate_limit_wait(response: Response) -> float:
    """Seconds until the exhausted window resets: a spent 24-hour window outlasts the rest."""
    now = time.time()
    daily = [
        max(0.0, float(reset) - now)
        for prefix in DAILY_LIMIT_PREFIXES
        if (response.headers.get(f"{prefix}-remaining") or "").strip() == "0"
        and (reset := (response.headers.get(f"{prefix}-reset") or "").strip()).isdigit()
    ]
    # Otherwise the 15-minute window's x-rate-limit-reset (epoch seconds), else Retry-After.
    return max(daily) if daily else retry_after(response, now)


def _data(response: Response, what: str) -> dict[str, Any]:
    """The `data` object of a success answer; anything else is worth a retry.

    A success answer to a write that cannot be read is ambiguous: X did what was asked
    (the post may be there), so a blind re-send could post it twice.
    """
    data = json_object_or_empty(response).get("data")
    if not isinstance(data, dict):
        raise unreadable_answer(response, "X", what, "a data object")
    return data


def _not_found(answer: dict[str, Any]) -> bool:
    """Whether an answer's `errors` say the post is not found (X's "Not Found Error")."""
    errors = answer.get("errors")
    return isinstance(errors, list) and any(
        isinstance(e, dict)
        and (
            e.get("title") == "Not Found Error"
            or str(e.get("type", "")).endswith("resource-not-found")
        )
        for e in errors
    )
