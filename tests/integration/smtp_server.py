"""A real SMTP server for alerts_itest: aiosmtpd on 127.0.0.1 offering STARTTLS.

Every message received is appended to OUT as one JSON line: the envelope (mail_from,
rcpt_tos), whether the session had switched to TLS (and the protocol version), the parsed
headers the test checks (Subject, Message-ID, X-Tributary-Notification-Id, From, To) and the
text body. TLS is offered but not required, so the line's "tls" says whether the client took
it. Writes "ready" to stdout once it accepts connections; stops on SIGTERM or SIGINT.

Usage: python smtp_server.py --port N --cert CERT.pem --key KEY.pem --out messages.jsonl
(run with the virtualenv that tests/integration/smtp_venv.sh prints).
"""

import argparse
import email
import email.policy
import json
import signal
import ssl
import sys
import threading
import time

from aiosmtpd.controller import Controller


class Recorder:
    def __init__(self, out_path):
        self.out_path = out_path
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        message = email.message_from_bytes(raw, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        ssl_info = session.ssl or {}
        ssl_object = ssl_info.get("ssl_object")
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "tls": session.ssl is not None,
            "tls_version": ssl_object.version() if ssl_object is not None else None,
            "subject": str(message.get("Subject", "")),
            "message_id": str(message.get("Message-ID", "")),
            "notification_id": str(message.get("X-Tributary-Notification-Id", "")),
            "from": str(message.get("From", "")),
            "to": str(message.get("To", "")),
            "content_type": message.get_content_type(),
            "text": body.get_content() if body is not None else "",
            "received_at": time.time(),
        }
        # One line per message, flushed at once: the test reads the file while we run.
        with self.lock, open(self.out_path, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
        return "250 OK"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    controller = Controller(
        Recorder(args.out),
        hostname="127.0.0.1",
        port=args.port,
        tls_context=context,
        require_starttls=False,
        server_hostname="itest-smtp.localhost",
    )
    controller.start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print("ready", flush=True)
    while not stop.wait(0.5):
        pass
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
