"""Notification e-mail: the worker sends the outbox of notifications over SMTP.

Delivery is at least once. A notification is claimed (its try counted and committed) before
its message goes out, and marked sent right after the server accepted it; once marked it is
never sent again. A crash between the two leaves it unmarked, so a later sweep sends it
again: at worst a duplicate, never a lost e-mail (its Message-ID stays the same, so mail
programs can tell the copies are one message). Tries are bounded by `MAX_ATTEMPTS` and
spaced by a backoff counted from the notification's creation; a message the server refuses
for good (5xx) is not tried again. Each failure's reason is kept in `mail_error`, and the
notification stays in the dashboard whatever the mail did.

Notification e-mail is not a publishing channel, so it lives here rather than among the
adapters in publishers/; smtplib is Python's own.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import Engine, Update, update
from sqlmodel import Session, col, select

from planner import notifications
from planner.config import Settings, load_settings
from planner.models import Notification, User, utcnow
from planner.notifications import NOTIFICATIONS, Item
from planner.ui.i18n import translate

MAX_ATTEMPTS = 5
# The n-th try waits BACKOFF * (2**n - 1) after the notification was made: 0, 1, 3, 7, 15 min.
BACKOFF = timedelta(minutes=1)
# How long a notification a worker took stays its own while it may still be sending it:
# longer than a batch's sending takes, so that no other worker sends it meanwhile. A try
# that ended (sent or failed) lets it go; a worker killed mid-send holds it this long.
HOLD = timedelta(minutes=10)
BATCH = 50
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
log = logging.getLogger(__name__)
_ERROR_MAX = 500


@dataclass(frozen=True)
class MailSettings:
    """Where notification e-mail goes out; the password never appears in the repr."""

    host: str
    port: int
    security: str
    sender: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    public_url: str | None = None


def mail_settings(settings: Settings | None = None) -> MailSettings | None:
    """The PLANNER_SMTP_* settings, or None when no SMTP host is set (no e-mail goes out)."""
    settings = settings or load_settings()
    if not settings.smtp_host or not settings.smtp_from:
        return None
    return MailSettings(
        host=settings.smtp_host,
        port=settings.smtp_port or DEFAULT_PORTS[settings.smtp_security],
        security=settings.smtp_security,
        sender=settings.smtp_from,
        username=settings.smtp_username,
        password=settings.smtp_password,
        public_url=settings.public_url,
    )


def retry_at(notification: Notification) -> datetime:
    """When the notification's next try is due: after the backoff of its tries, and not
    while the last worker that took it may still be sending it (`HOLD`)."""
    waits: int = 2**notification.mail_attempts - 1
    due = notification.created_at + BACKOFF * waits
    tried = notification.mail_tried_at
    return due if tried is None else max(due, tried + HOLD)


@dataclass
class MailResult:
    """What one round of sending did: the notifications sent, and why others were not."""

    sent: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


# --- the message ------------------------------------------------------------------------------


def _query(item: Item) -> str:
    """The dashboard link's query for the notification's item: the same for every role, as
    the dashboard opens it on the page that shows it to whoever follows the link."""
    n = item.notification
    if n.object_type == "inbox_item":
        return "listening"
    if n.object_type in ("idea", "post"):
        return f"?{n.object_type}={n.object_id}"
    return f"?piece={item.piece_id}"


def compose(item: Item, recipient: User, *, settings: MailSettings) -> EmailMessage:
    """The e-mail for one notification, in the recipient's language."""
    n = item.notification
    lang = recipient.locale
    number = item.piece_id if n.object_type != "idea" else n.object_id
    what = translate(
        lang, f"notifications.kind.{n.kind}", id=number, title=item.title, actor=item.actor
    )
    lines = [what]
    detail = notifications.detail_text(n, lang, recipient.timezone)
    if detail:
        lines += ["", detail]
    lines.append("")
    if settings.public_url:
        link = f"{settings.public_url.rstrip('/')}/{_query(item)}"
        lines.append(translate(lang, "notifications.mail.open", link=link))
    else:
        key = {
            "idea": "notifications.mail.idea",
            "inbox_item": "notifications.mail.inbox_item",
        }.get(n.object_type, "notifications.mail.piece")
        lines.append(translate(lang, key, id=number))
    lines += ["", "-- ", translate(lang, "notifications.mail.footer")]
    message = EmailMessage()
    # A header is one line: a title may hold line breaks (a mail library refuses them).
    message["Subject"] = " ".join(f"{translate(lang, 'app.title')}: {what}".split())
    message["From"] = settings.sender
    message["To"] = str(recipient.email)
    message["Date"] = format_datetime(n.created_at)  # the same on every copy, as the ID
    message["Message-ID"] = message_id(n, settings.sender)
    message.set_content("\n".join(lines) + "\n")
    # After the content: setting it clears every Content-* header of the message.
    message["Content-Language"] = lang
    return message


def message_id(notification: Notification, sender: str) -> str:
    """The same Message-ID for every copy of one notification's e-mail."""
    domain = sender.rpartition("@")[2].strip(" >") or "planner.invalid"
    seed = f"{notification.id}:{notification.created_at.isoformat()}".encode()
    digest = hashlib.sha256(seed).hexdigest()[:16]
    return f"<notification-{notification.id}.{digest}@{domain}>"


# --- the outbox -------------------------------------------------------------------------------


def _claim(session: Session, now: datetime, limit: int) -> list[Notification]:
    """Take the notifications whose e-mail is due: each try is counted (and committed)
    before sending, so two workers never send one notification at the same time."""
    pending = session.exec(
        select(Notification)
        .where(
            col(Notification.email).is_(True),
            col(Notification.mailed_at).is_(None),
            Notification.mail_attempts < MAX_ATTEMPTS,
        )
        .order_by(col(Notification.id))
        .limit(limit * 4)
    )
    claimed: list[Notification] = []
    conn = session.connection()
    for n in pending:
        if len(claimed) == limit or retry_at(n) > now:
            continue
        taken = conn.execute(
            _unsent_as_read(n).values(mail_attempts=n.mail_attempts + 1, mail_tried_at=now)
        )
        if taken.rowcount == 1:
            n.mail_attempts, n.mail_tried_at = n.mail_attempts + 1, now  # as now stored
            claimed.append(n)
    session.commit()
    return claimed


def _connect(settings: MailSettings) -> smtplib.SMTP:
    """An open, secured and logged-in connection."""
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.security == "ssl":
        smtp = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        smtp.ehlo()
        if settings.security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.username:
            smtp.login(settings.username, settings.password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _reason(err: Exception) -> str:
    """A failure as stored: the server's reply, or what went wrong on the way."""
    if isinstance(err, smtplib.SMTPResponseException):
        reply = err.smtp_error.decode(errors="replace") if isinstance(err.smtp_error, bytes) else ""
        text = f"SMTP {err.smtp_code} {reply}"
    elif isinstance(err, smtplib.SMTPRecipientsRefused):
        text = "; ".join(
            f"{who}: SMTP {code} {reply.decode(errors='replace')}"
            for who, (code, reply) in err.recipients.items()
        )
    elif isinstance(err, TimeoutError) or isinstance(err.__context__, TimeoutError):
        # smtplib reports a reply that never came as a closed connection
        text = "the SMTP server did not answer in time"
    else:
        text = f"{type(err).__name__}: {err}"
    return text[:_ERROR_MAX]


def _refused_for_good(err: smtplib.SMTPException) -> bool:
    """Whether the server refused this message permanently (5xx): another try is futile."""
    if isinstance(err, smtplib.SMTPResponseException):
        return 500 <= err.smtp_code < 600
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _reply in err.recipients.values())
    return False


def _still_ours(engine: Engine, notification: Notification) -> bool:
    """Renew the hold on a notification this worker took, right before sending it, if
    no other worker took it since (its count of tries is still the one this worker set);
    False, and nothing changed, if one did (a batch slower than `HOLD`)."""
    with engine.begin() as conn:
        renewed = conn.execute(_unsent_as_read(notification).values(mail_tried_at=utcnow()))
    return renewed.rowcount == 1


def _unsent_as_read(notification: Notification) -> Update:
    """An UPDATE of the notification while it is unsent and its count of tries is still
    the one read here (no other worker took it since)."""
    return update(NOTIFICATIONS).where(
        NOTIFICATIONS.c.id == notification.id,
        NOTIFICATIONS.c.mailed_at.is_(None),
        NOTIFICATIONS.c.mail_attempts == notification.mail_attempts,
    )


def _finish(
    engine: Engine,
    notification_id: int,
    *,
    error: str | None,
    final: bool = False,
    attempts: int | None = None,
) -> None:
    """Mark one notification sent (error None) or keep why its try failed (`final`: and
    try no more); with `attempts`, a failure only while no other worker took it since."""
    values: dict[str, object] = (
        {"mailed_at": utcnow(), "mail_error": None}
        # The try has ended: the next is due after the backoff alone, not the hold.
        if error is None
        else {"mail_error": error, "mail_tried_at": None}
    )
    if final:
        values["mail_attempts"] = MAX_ATTEMPTS
    mine = NOTIFICATIONS.c.id == notification_id
    if error is not None and attempts is not None:
        mine = mine & (NOTIFICATIONS.c.mail_attempts == attempts)
    with engine.begin() as conn:
        conn.execute(update(NOTIFICATIONS).where(mine).values(**values))


def send_due(
    engine: Engine, *, settings: MailSettings, now: datetime | None = None, limit: int = BATCH
) -> MailResult:
    """Send the notification e-mails that are due, over one SMTP connection."""
    result = MailResult()
    with Session(engine, expire_on_commit=False) as session:
        claimed = _claim(session, now or utcnow(), limit)
        if not claimed:
            return result
        items = notifications.describe(session, claimed)
        recipients = {
            u.id: u
            for u in session.exec(
                select(User).where(col(User.id).in_({n.user_id for n in claimed}))
            )
        }
    outgoing: list[tuple[Item, User]] = []
    for item in items:
        user = recipients[item.notification.user_id]
        if not notifications.still_for(user, item.notification):
            # Disabled, or moved to a role that no longer sees it, since it was stored.
            reason = "the account may no longer see it"
            _fail(engine, result, item.notification, reason, final=True)
        elif user.email:
            outgoing.append((item, user))
        else:  # the address was removed since: nothing to send to
            reason = "the user has no e-mail address"
            _fail(engine, result, item.notification, reason, final=True)
    try:
        smtp = _connect(settings)
    except OSError as err:  # smtplib's errors included
        for item, _user in outgoing:
            _fail(engine, result, item.notification, _reason(err))
        return result
    try:
        for position, (item, user) in enumerate(outgoing):
            n = item.notification
            assert n.id is not None
            try:
                message = compose(item, user, settings=settings)
            except (ValueError, TypeError) as err:  # this one cannot be written: the rest go
                log.warning("notification %s cannot be written as an e-mail: %s", n.id, err)
                _fail(engine, result, n, f"the e-mail could not be written: {err}", final=True)
                continue
            if not _still_ours(engine, n):
                continue  # another worker took it meanwhile: it sends it
            try:
                smtp.send_message(message)
            except OSError as err:  # smtplib's own errors are OSErrors too
                if isinstance(err, smtplib.SMTPException) and not isinstance(
                    err, smtplib.SMTPServerDisconnected
                ):
                    _fail(engine, result, n, _reason(err), final=_refused_for_good(err))
                    continue
                # The connection is gone: this one and the rest wait for the next round.
                for rest, _user in outgoing[position:]:
                    _fail(engine, result, rest.notification, _reason(err))
                break
            else:
                _finish(engine, n.id, error=None)  # at once: a crash then repeats no other
                result.sent.append(n.id)
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
    return result


def _fail(
    engine: Engine,
    result: MailResult,
    notification: Notification,
    reason: str,
    *,
    final: bool = False,
) -> None:
    assert notification.id is not None
    _finish(engine, notification.id, error=reason, final=final, attempts=notification.mail_attempts)
    result.failed[notification.id] = reason
