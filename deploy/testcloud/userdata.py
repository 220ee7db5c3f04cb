#!/usr/bin/env python3
"""What cloud-init would take from an instance's user data.

    userdata.py boothooks FILE OUTDIR   -> writes each #cloud-boothook part
                                           (MIME multipart or a bare script) to
                                           OUTDIR/boothook-N, first line removed
"""
import email
import email.policy
import os
import sys


def parts(raw: bytes):
    if raw.lstrip().startswith(b"Content-Type:") or raw.lstrip().startswith(b"MIME-Version:"):
        message = email.message_from_bytes(raw, policy=email.policy.default)
        for part in message.walk():
            if part.is_multipart():
                continue
            yield part.get_content_type(), part.get_payload(decode=True) or b""
    else:
        yield "text/plain", raw


def main() -> None:
    if len(sys.argv) != 4 or sys.argv[1] != "boothooks":
        sys.exit(__doc__)
    raw = open(sys.argv[2], "rb").read()
    out = sys.argv[3]
    os.makedirs(out, exist_ok=True)
    count = 0
    for content_type, payload in parts(raw):
        if content_type == "text/cloud-boothook" or payload.startswith(b"#cloud-boothook"):
            body = payload.split(b"\n", 1)[1] if payload.startswith(b"#cloud-boothook") else payload
            path = os.path.join(out, f"boothook-{count}")
            with open(path, "wb") as f:
                f.write(body)
            os.chmod(path, 0o700)
            count += 1


if __name__ == "__main__":
    main()
