"""Reports by e-mail through a real SMTP server on 127.0.0.1 (aiosmtpd, with STARTTLS and a login), a server
that refuses the login, one that is down and one that never answers; nothing sent twice for a run."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from workbench.batch import JobResult
from workbench.delivery import Ledger, SmtpSettings, deliveries, rebuild
from workbench.practices import PracticeConfig

PASSWORD = "s3cret-smtp-pw-not-real"
USER = "reports@example.com"


@dataclass
class Mailbox:
    port: int
    cafile: Path
    received: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Any] = field(default_factory=list)


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the office's own mail server, trusted through ``cafile``)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


@pytest.fixture(scope="module")
def mailbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mailbox]:
    """aiosmtpd on a free port: STARTTLS required, then a login (USER / PASSWORD) required."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    folder = tmp_path_factory.mktemp("smtp")
    cert, key = _certificate(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = Mailbox(port, cert)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd calls it by this name
            box.envelopes.append(envelope)
            box.received.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
            return "250 OK"

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        good = isinstance(data, LoginPassword) and data.login == USER.encode() and data.password == PASSWORD.encode()
        return AuthResult(success=good, handled=False)  # handled=False: the server answers 535

    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
    )
    controller.start()
    yield box
    controller.stop()


def _settings(box: Mailbox, port: int | None = None, timeout: float = 10.0) -> SmtpSettings:
    return SmtpSettings(
        host="127.0.0.1",
        port=port or box.port,
        security="starttls",
        sender="Practice Reports <reports@example.com>",
        user=USER,
        password_env="TEST_SMTP_PASSWORD",
        notify="consultant@example.com",
        cafile=str(box.cafile),
        timeout=timeout,
    )


def _run_of(rendered: dict[str, Path]) -> tuple[list[JobResult], list[PracticeConfig]]:
    results = [JobResult("riverside", name, True, 1.0, path, None) for name, path in rendered.items()][:2]
    results.append(JobResult("oak-hill", "aging", False, 0.0, None, "cannot connect to 10.0.0.9:3306"))
    configs = [
        PracticeConfig("riverside", "demo:", email=("dr.riverside@example.com",)),
        PracticeConfig("oak-hill", "demo:", email=("dr.oak@example.com",)),
    ]
    return results, configs


def test_refused_login_down_and_silent_servers_fail_in_one_line_and_are_retried(
    mailbox: Mailbox, rendered: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results, configs = _run_of(rendered)
    said: list[str] = []
    ledger = Ledger(tmp_path)

    monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong-password")
    todo = deliveries(_settings(mailbox), "2026-10-31", results, configs)
    assert [d.key for d in todo] == ["riverside|2026-10-31", "notice|2026-10-31"]
    assert not ledger.run(todo, _settings(mailbox), said.append)
    assert said[0] == (
        f"send failed: riverside (2026-10-31): 127.0.0.1:{mailbox.port} refused the login of {USER} (535); "
        "the next run tries again"
    )
    assert all("wrong-password" not in line for line in said)

    with socket.socket() as closed:  # a port nothing listens on: the server is down
        closed.bind(("127.0.0.1", 0))
        down = closed.getsockname()[1]
    said.clear()
    assert not Ledger(tmp_path / "down").run(todo, _settings(mailbox, port=down), said.append)
    assert said[0].startswith(f"send failed: riverside (2026-10-31): cannot reach the mail server 127.0.0.1:{down}")

    silent = socket.socket()  # accepts, never answers: the client's timeout ends the wait
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    said.clear()
    began = dt.datetime.now()
    assert not Ledger(tmp_path / "silent").run(todo[:1], _settings(mailbox, silent.getsockname()[1], 1.0), said.append)
    assert (dt.datetime.now() - began).total_seconds() < 10 and "timed out" in said[0]
    silent.close()

    # the next run, with the right password: both failed messages go, each once
    monkeypatch.setenv("TEST_SMTP_PASSWORD", PASSWORD)
    before = len(mailbox.received)
    said.clear()
    assert ledger.run([], _settings(mailbox), said.append, retry_from=rebuild(_settings(mailbox)))
    assert sorted(said) == [
        "sent: failure notice (2026-10-31) to consultant@example.com",
        "sent: riverside (2026-10-31) to dr.riverside@example.com",
    ]
    assert len(mailbox.received) == before + 2
    said.clear()
    assert ledger.run(todo, _settings(mailbox), said.append, retry_from=rebuild(_settings(mailbox)))
    assert len(mailbox.received) == before + 2 and all(line.startswith("already sent") for line in said)


@pytest.fixture(scope="module")
def practices_file(
    demo_db: Path, other_demo_db: Path, mailbox: Mailbox, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    folder = tmp_path_factory.mktemp("send")
    other = other_demo_db
    path = folder / "practices.toml"
    path.write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {mailbox.port}\nsecurity = "starttls"\nuser = "{USER}"\n'
        f'sender = "Practice Reports <{USER}>"\npassword_env = "TEST_SMTP_PASSWORD"\n'
        f'notify = "consultant@example.com"\ncafile = "{mailbox.cafile}"\n\n'
        f'[[practice]]\nname = "riverside"\nsource = "opendental+sqlite://{demo_db}"\nreports = ["aging", "recall"]\n'
        f'email = ["dr.riverside@example.com", "office@riverside.example.com"]\n\n'
        f'[[practice]]\nname = "maple-grove"\nsource = "opendental+sqlite://{other}"\nreports = ["aging"]\n'
        f'email = ["dr.maple@example.com"]\nattach = "pdf"\n\n'
        f'[[practice]]\nname = "gone"\nsource = "opendental+sqlite://{folder}/gone.db"\nreports = ["aging"]\n'
        f'email = ["dr.gone@example.com"]\n',
        encoding="utf-8",
    )
    return path


def test_a_batch_sends_each_practice_its_reports_and_one_failure_notice(
    practices_file: Path, mailbox: Mailbox, tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    env = {**os.environ, "TEST_SMTP_PASSWORD": PASSWORD}
    base = [sys.executable, "-m", "workbench", "batch", "--practices", str(practices_file), "--as-of", "2026-10-31"]
    base += ["--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--send"]
    before = len(mailbox.received)

    dry = subprocess.run([*base, "--dry-run"], capture_output=True, text=True, timeout=600, env=env)
    assert dry.returncode == 1 and len(mailbox.received) == before  # the broken practice failed; nothing sent
    assert (
        "would send: riverside (2026-10-31) to dr.riverside@example.com, office@riverside.example.com: "
        "aging.html, recall.html" in dry.stdout
    )
    assert "would send: failure notice (2026-10-31) to consultant@example.com: 1 failure(s)" in dry.stdout
    assert "would send: maple-grove (2026-10-31) to dr.maple@example.com: aging.pdf" in dry.stdout
    assert not list(out.rglob("*.pdf"))  # a dry run prints no PDF

    done = subprocess.run(base, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 1, done.stdout + done.stderr  # one practice failed (the messages all went)
    new = mailbox.received[before:]
    envelopes = mailbox.envelopes[before:]
    assert sorted(m["To"] for m in new) == [
        "consultant@example.com",
        "dr.maple@example.com",
        "dr.riverside@example.com, office@riverside.example.com",
    ]
    riverside = next(m for m in new if "riverside" in m["To"])
    attached = {p.get_filename(): p.get_payload(decode=True) for p in riverside.iter_attachments()}
    assert sorted(attached) == ["aging.html", "recall.html"]
    assert all(b"wb-kpis" in page and b"</html>" in page for page in attached.values())  # reports that open
    text = riverside.get_body(preferencelist=("plain",)).get_content()
    assert "Aging:" in text and "  - " in text  # the headline findings
    maple = next(m for m in new if m["To"] == "dr.maple@example.com")  # attach = "pdf": printed by Chromium
    pdfs = {p.get_filename(): p.get_payload(decode=True) for p in maple.iter_attachments()}
    assert list(pdfs) == ["aging.pdf"] and pdfs["aging.pdf"].startswith(b"%PDF") and len(pdfs["aging.pdf"]) > 20_000
    assert "Aging:" in maple.get_body(preferencelist=("plain",)).get_content()
    notice = next(m for m in new if m["To"] == "consultant@example.com").get_body().get_content()
    assert "gone / aging: no Open Dental database file at" in notice
    for envelope in envelopes:
        assert PASSWORD.encode() not in envelope.original_content  # no secret in headers, body or files
    ledger = (out / ".deliveries.json").read_text()
    assert PASSWORD not in ledger and '"status": "sent"' in ledger

    again = subprocess.run(base, capture_output=True, text=True, timeout=600, env=env)
    assert len(mailbox.received) == before + 3  # nothing twice for the same run
    assert "already sent: riverside (2026-10-31)" in again.stdout

    unset = {k: v for k, v in env.items() if k != "TEST_SMTP_PASSWORD"}
    refused = subprocess.run(base, capture_output=True, text=True, timeout=120, env=unset)
    assert refused.returncode == 2 and refused.stderr.strip() == (
        "error: the environment variable TEST_SMTP_PASSWORD (SMTP password) is not set"
    )


_SEND = """
import sys
import time
from pathlib import Path
from workbench.batch import JobResult
from workbench.delivery import Ledger, SmtpSettings, deliveries
from workbench.practices import PracticeConfig
port, cafile, out, report, timeout = sys.argv[1:6]
port, out, report, timeout = int(port), Path(out), Path(report), float(timeout)
settings = SmtpSettings(host="127.0.0.1", port=port, security="starttls", sender="reports@example.com",
                        user="reports@example.com", password_env="TEST_SMTP_PASSWORD", cafile=cafile, timeout=timeout)
results = [JobResult("riverside", "aging", True, 1.0, report, None)]
todo = deliveries(settings, "2026-10-31", results, [PracticeConfig("riverside", "demo:", email=("dr@example.com",))])
print("ok" if Ledger(out).run(todo, settings, print) else "failed", flush=True)
"""


def test_two_runs_at_once_send_one_copy_and_a_kill_mid_send_sends_none_again(
    mailbox: Mailbox, rendered: dict[str, Path], tmp_path: Path
) -> None:
    env = {**os.environ, "TEST_SMTP_PASSWORD": PASSWORD}

    def start(port: int, out: Path, timeout: float = 10.0) -> subprocess.Popen[str]:
        args = [str(port), str(mailbox.cafile), str(out), str(rendered["aging"]), str(timeout)]
        return subprocess.Popen([sys.executable, "-c", _SEND, *args], stdout=subprocess.PIPE, text=True, env=env)

    before = len(mailbox.received)
    both = [start(mailbox.port, tmp_path / "twice") for _ in range(2)]
    said = sorted(p.communicate(timeout=60)[0].strip() for p in both)
    assert len(mailbox.received) == before + 1  # one copy, whichever run came first
    assert said == [
        "already sent: riverside (2026-10-31) to dr@example.com\nok",
        "sent: riverside (2026-10-31) to dr@example.com\nok",
    ]

    silent = socket.socket()  # the server takes the connection and says nothing: the sender waits ...
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    killed = start(silent.getsockname()[1], tmp_path / "killed", timeout=60.0)
    ledger = tmp_path / "killed" / ".deliveries.json"
    for _ in range(100):
        if ledger.exists() and "sending" in ledger.read_text():
            break
        time.sleep(0.1)
    killed.kill()  # ... and is killed (-9) in the middle of sending
    killed.wait(timeout=10)
    silent.close()
    assert '"status": "sending"' in ledger.read_text()  # whole, and says what was under way
    after = start(mailbox.port, tmp_path / "killed")
    out = after.communicate(timeout=60)[0]
    assert out.startswith("not sent again: riverside (2026-10-31): an earlier run stopped while sending it")
    assert out.strip().endswith("failed") and len(mailbox.received) == before + 1
