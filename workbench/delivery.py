"""Reports delivered by e-mail, and word when a run failed.

The mail server is set in the practices file (or the environment, which wins), never its password::

    [smtp]
    host = "smtp.example.com"
    port = 587
    security = "starttls"          # or "ssl" (port 465) or "none" (a relay on the local network)
    user = "reports@example.com"
    sender = "Practice Reports <reports@example.com>"
    password_env = "WORKBENCH_SMTP_PASSWORD"      # or password_keyring = "smtp" (user = user above)
    notify = "consultant@example.com"            # gets one message per run that had failures

    [[practice]]
    ...
    email = ["dr.smith@example.com"]

Environment: WORKBENCH_SMTP_HOST, _PORT, _SECURITY, _USER, _SENDER, _NOTIFY, _CAFILE and the password in
WORKBENCH_SMTP_PASSWORD (or the variable ``password_env`` names).

What was sent is kept in a ledger beside the reports (``.deliveries.json``), one entry per practice and run
(the run is the report folder's date): a message is sent once per run, a failed one is tried again on the
next run, and every outcome is one line.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import ssl
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid
from html.parser import HTMLParser
from pathlib import Path

from workbench.batch import JobResult
from workbench.errors import DeliveryError, SourceError, UsageError
from workbench.files import write_atomically
from workbench.locks import exclusive
from workbench.practices import ADDRESS, PracticeConfig, default_practices_file
from workbench.secrets import lookup_secret, scrub

__all__ = [
    "LEDGER",
    "Delivery",
    "Ledger",
    "SmtpSettings",
    "attachments",
    "deliveries",
    "failure_message",
    "findings",
    "load_smtp",
    "rebuild",
    "report_message",
    "send",
]

LEDGER = ".deliveries.json"
log = logging.getLogger("workbench")
SECURITY = ("starttls", "ssl", "none")
ENV = "WORKBENCH_SMTP_"
KEYS = {"host", "port", "security", "user", "sender", "password_env", "password_keyring", "notify", "cafile", "timeout"}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    sender: str
    user: str | None = None
    password_env: str | None = None
    password_keyring: str | None = None
    notify: str | None = None
    cafile: str | None = None  # a CA bundle to trust (a server with a certificate of the office's own)
    timeout: float = 30.0

    def password(self) -> str | None:
        """The login password, from the environment or the keyring (None: no login)."""
        if not self.user:
            return None
        env = self.password_env or (None if self.password_keyring else f"{ENV}PASSWORD")
        try:
            return lookup_secret("SMTP password", env, self.password_keyring, self.user)
        except SourceError as exc:
            raise UsageError(str(exc)) from None


def load_smtp(practices_file: Path | None = None) -> SmtpSettings | None:
    """The mail settings: the practices file's ``[smtp]`` table (default: $WORKBENCH_PRACTICES or
    ./practices.toml), each key overridden by WORKBENCH_SMTP_<KEY>; None when neither names a host."""
    practices_file = practices_file or default_practices_file()
    table: dict[str, object] = {}
    if practices_file is not None and practices_file.is_file():
        try:
            table = dict(tomllib.loads(practices_file.read_text()).get("smtp", {}))
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"cannot read the practices file {practices_file}: {exc}") from None
    if "password" in table:
        raise UsageError(f"{practices_file}: [smtp] holds a password; name an environment variable with password_env")
    unknown = sorted(set(table) - KEYS)
    if unknown:
        raise UsageError(
            f"{practices_file}: [smtp] unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(KEYS))}"
        )
    for key in KEYS:
        if f"{ENV}{key.upper()}" in os.environ:
            table[key] = os.environ[f"{ENV}{key.upper()}"]
    if not table.get("host"):
        return None
    security = str(table.get("security", "starttls"))
    if security not in SECURITY:
        raise UsageError(f"[smtp] security must be one of {', '.join(SECURITY)}, got {security!r}")
    try:
        port = int(table.get("port", {"ssl": 465, "starttls": 587}.get(security, 25)))  # type: ignore[call-overload]
        timeout = float(table.get("timeout", 30.0))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise UsageError("[smtp] port and timeout must be numbers") from None
    sender = str(table.get("sender") or table.get("user") or "")
    if not any(ADDRESS.match(address) for _, address in getaddresses([sender])):
        raise UsageError('[smtp] needs a sender address (sender = "Reports <reports@example.com>")')
    return SmtpSettings(
        host=str(table["host"]),
        port=port,
        security=security,
        sender=sender,
        user=str(table["user"]) if table.get("user") else None,
        password_env=str(table["password_env"]) if table.get("password_env") else None,
        password_keyring=str(table["password_keyring"]) if table.get("password_keyring") else None,
        notify=str(table["notify"]) if table.get("notify") else None,
        cafile=str(table["cafile"]) if table.get("cafile") else None,
        timeout=timeout,
    )


class _Findings(HTMLParser):
    """The "What needs attention" lines of a rendered report."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self._depth = 0  # inside section.wb-attention
        self._item: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section" and "wb-attention" in (dict(attrs).get("class") or ""):
            self._depth = 1
        elif self._depth and tag == "section":
            self._depth += 1
        elif self._depth and tag == "li":
            self._item = []

    def handle_endtag(self, tag: str) -> None:
        if self._depth and tag == "li" and self._item is not None:
            self.lines.append(" ".join("".join(self._item).split()))
            self._item = None
        elif self._depth and tag == "section":
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._item is not None:
            self._item.append(data)


def findings(report: Path) -> list[str]:
    """A rendered report's findings ("What needs attention"), as the dentist reads them."""
    parser = _Findings()
    parser.feed(report.read_text(encoding="utf-8"))
    return parser.lines


def report_message(
    settings: SmtpSettings, practice: str, run: str, recipients: Sequence[str], reports: Sequence[Path]
) -> EmailMessage:
    """The practice's reports of one run, attached, with each report's headline findings in the text."""
    message = EmailMessage()
    message["Subject"] = f"{practice}: practice reports ({run})"
    message["From"] = settings.sender
    message["To"] = ", ".join(recipients)
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2].strip(">") or None)
    files = f"{len(reports)} file{'s' * (len(reports) != 1)}"
    parts = [f"Your practice reports for {run} are attached ({files}; open them in any browser).", ""]
    for page in dict.fromkeys(r.with_suffix(".html") for r in reports):  # each report once, HTML or PDF
        parts.append(f"{page.stem.capitalize()}:")
        said = findings(page) if page.is_file() else []
        parts += [f"  - {line}" for line in said] or ["  - (nothing stands out)"]
        parts.append("")
    message.set_content("\n".join(parts))
    for report in reports:
        kind = ("application", "pdf") if report.suffix == ".pdf" else ("text", "html")
        message.add_attachment(report.read_bytes(), maintype=kind[0], subtype=kind[1], filename=report.name)
    return message


def failure_message(settings: SmtpSettings, run: str, failures: Sequence[tuple[str, str, str]]) -> EmailMessage:
    """One message for a run that had failures: which practice, which report, the one-line error."""
    message = EmailMessage()
    message["Subject"] = f"Practice reports: {len(failures)} failed in the run of {run}"
    message["From"] = settings.sender
    message["To"] = settings.notify or settings.sender
    lines = [f"- {practice} / {report}: {error}" for practice, report, error in failures]
    message.set_content("These reports failed:\n\n" + "\n".join(lines) + "\n\nThe next run tries them again.\n")
    return message


def send(settings: SmtpSettings, message: EmailMessage) -> None:
    """Send ``message`` through the server; any failure is a DeliveryError of one line (no secret in it)."""
    password = settings.password()
    where = f"{settings.host}:{settings.port}"
    try:
        context = ssl.create_default_context(cafile=settings.cafile)
        if settings.security == "ssl":
            server: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            server = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with server:
            if settings.security == "starttls":
                server.starttls(context=context)
            if settings.user:
                server.login(settings.user, password or "")
            server.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"{where} refused the login of {settings.user} ({exc.smtp_code})") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(f"{where} refused the recipient(s) {', '.join(exc.recipients)}") from None
    except smtplib.SMTPException as exc:
        raise DeliveryError(scrub(f"{where}: {type(exc).__name__}: {exc}", [password])) from None
    except OSError as exc:  # refused, unreachable, timed out (TimeoutError), TLS failures
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise DeliveryError(scrub(f"cannot reach the mail server {where}: {reason}", [password])) from None


@dataclass(frozen=True)
class Delivery:
    """One message to send (or sent): the practice (or ``notice`` for a failure notice), its run, to whom,
    which files."""

    key: str
    practice: str
    run: str
    to: tuple[str, ...]
    files: tuple[str, ...]
    build: Callable[[], EmailMessage]


class Ledger:
    """What was sent, per practice and run, in ``<reports>/.deliveries.json`` (written atomically, under a
    lock, so two runs at once never send one message twice)."""

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / LEDGER
        self.lock = out_dir / f"{LEDGER}.lock"

    def read(self) -> dict[str, dict[str, object]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            raise UsageError(f"the delivery ledger {self.path} is unreadable; move it aside to start anew") from None
        return data if isinstance(data, dict) else {}

    def run(
        self,
        todo: Sequence[Delivery],
        settings: SmtpSettings,
        say: Callable[[str], None],
        retry_from: Callable[[dict[str, object]], Delivery | None] | None = None,
    ) -> bool:
        """Send what has not been sent for its run (the entries that failed before too, when ``retry_from``
        can rebuild them); every outcome one line through ``say``. True when nothing failed."""
        ok = True
        with exclusive(self.lock, 300, "the delivery ledger"):
            entries = self.read()
            pending = {d.key: d for d in todo}
            for key, entry in entries.items():  # earlier runs' failures: tried again
                if entry.get("status") == "failed" and key not in pending and retry_from is not None:
                    again = retry_from(entry)
                    if again is not None:
                        pending[key] = again
            for key, delivery in pending.items():
                status = entries.get(key, {}).get("status")
                if status == "sent":
                    say(f"already sent: {delivery.practice} ({delivery.run}) to {', '.join(delivery.to)}")
                    continue
                if status == "sending":  # a run ended (killed) while sending: it may have gone out
                    say(
                        f"not sent again: {delivery.practice} ({delivery.run}): an earlier run stopped while sending "
                        f"it, so it may have arrived; ask {', '.join(delivery.to)}, or remove its entry from "
                        f"{self.path} to send it again"
                    )
                    ok = False
                    continue
                record: dict[str, object] = {
                    "practice": delivery.practice,
                    "run": delivery.run,
                    "to": list(delivery.to),
                    "files": list(delivery.files),
                    "at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "status": "sending",
                }
                entries[key] = record  # said before sending: a kill mid-send never leads to a second copy
                write_atomically(self.path, json.dumps(entries, indent=1, sort_keys=True))
                try:
                    send(settings, delivery.build())
                    record["status"] = "sent"
                    say(f"sent: {delivery.practice} ({delivery.run}) to {', '.join(delivery.to)}")
                except DeliveryError as exc:
                    ok = False
                    record.update(status="failed", error=str(exc))
                    say(f"send failed: {delivery.practice} ({delivery.run}): {exc}; the next run tries again")
                entries[key] = record
                write_atomically(self.path, json.dumps(entries, indent=1, sort_keys=True))
        return ok


def deliveries(
    settings: SmtpSettings,
    run: str,
    results: Sequence[JobResult],
    practices: Sequence[PracticeConfig],
    group: JobResult | None = None,
    dry_run: bool = False,
) -> list[Delivery]:
    """What a run sends: each practice with recipients gets its reports that rendered (not the group report:
    it compares the practices, so it stays with the consultant), and the consultant (``notify``) one failure
    notice when anything failed."""
    todo = []
    for config in practices:
        pages = [r.output for r in results if r.practice == config.name and r.ok and r.output]
        files = tuple(str(f) for f in attachments(pages, config.attach, make=not dry_run))
        if config.email and files:
            todo.append(_report_delivery(settings, config.name, run, config.email, files))
    failures = [
        (r.practice, r.report, r.error or "failed") for r in [*results, *([group] if group else [])] if not r.ok
    ]
    if failures and settings.notify:
        todo.append(_notice_delivery(settings, run, failures))
    return todo


def attachments(pages: Sequence[Path], attach: str, make: bool = True) -> list[Path]:
    """The files a practice's message carries: its reports as HTML, as PDF (printed beside them, once), or
    both. A report that cannot be printed goes as HTML, with a warning. ``make=False`` (a dry run) names the
    PDFs without printing them."""
    if attach == "html":
        return list(pages)
    if not make:
        return [f for page in pages for f in ([page] if attach == "both" else []) + [page.with_suffix(".pdf")]]
    from workbench.errors import WorkbenchError
    from workbench.pdf import to_pdf

    out = []
    for page in pages:
        pdf = page.with_suffix(".pdf")
        try:
            if not pdf.is_file() or pdf.stat().st_mtime < page.stat().st_mtime:
                to_pdf(page)
        except WorkbenchError as exc:
            log.warning("cannot print %s to PDF (%s); it goes as HTML", page, exc)
            out.append(page)
            continue
        out += [page, pdf] if attach == "both" else [pdf]
    return out


def _report_delivery(
    settings: SmtpSettings, practice: str, run: str, to: Sequence[str], files: Sequence[str]
) -> Delivery:
    return Delivery(
        f"{practice}|{run}",
        practice,
        run,
        tuple(to),
        tuple(files),
        lambda: report_message(settings, practice, run, to, [Path(f) for f in files]),
    )


def _notice_delivery(settings: SmtpSettings, run: str, failures: Sequence[tuple[str, str, str]]) -> Delivery:
    listed = tuple(f"{p}\t{r}\t{e}" for p, r, e in failures)
    return Delivery(
        f"notice|{run}",
        "failure notice",
        run,
        (settings.notify or settings.sender,),
        listed,
        lambda: failure_message(settings, run, failures),
    )


def rebuild(settings: SmtpSettings) -> Callable[[dict[str, object]], Delivery | None]:
    """How an earlier run's failed entry is sent again: from its files (a notice from its lines); None when
    the files are gone (the entry stays failed, and says so)."""

    def again(entry: dict[str, object]) -> Delivery | None:
        practice, run = str(entry.get("practice")), str(entry.get("run"))
        files = [str(f) for f in entry.get("files", [])]  # type: ignore[attr-defined]
        if practice == "failure notice":
            return _notice_delivery(settings, run, [tuple(f.split("\t", 2)) for f in files])  # type: ignore[misc]
        if not files or not all(Path(f).is_file() for f in files):
            return None
        return _report_delivery(settings, practice, run, [str(t) for t in entry.get("to", [])], files)  # type: ignore[attr-defined]

    return again
