"""A real SMTP server for the tests (aiosmtpd): saves every message it receives as JSON
(subject, from, to, message-id, text and html bodies, decoded) in a folder.

    python3 tests/smtp_sink.py PORT FOLDER     # runs until its standard input closes
"""
import email
import email.policy
import json
import os
import sys
import time

from aiosmtpd.controller import Controller


class Save:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        record = {
            "subject": str(msg["subject"]),
            "from": str(msg["from"]),
            "to": envelope.rcpt_tos,
            "message_id": str(msg["message-id"]),
            "text": text.get_content() if text else "",
            "html": html.get_content() if html else "",
        }
        self.count += 1
        path = os.path.join(self.folder, "%d-%d.json" % (time.time_ns(), self.count))
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 OK"


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    os.makedirs(folder, exist_ok=True)
    controller = Controller(Save(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
