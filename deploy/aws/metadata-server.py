#!/usr/bin/env python3
"""A fake EC2 instance metadata service (IMDSv2) and container credentials endpoint.

Serves, on 127.0.0.1 with a free port (printed as "PORT <n>"):
  PUT /latest/api/token                          -> a session token (needs the TTL header)
  GET /latest/meta-data/iam/security-credentials/       -> "test-role" (needs the token)
  GET /latest/meta-data/iam/security-credentials/test-role -> credentials JSON (needs the token)
  GET /container-credentials                     -> credentials JSON (needs Authorization: container-secret)
Exits when stdin reaches EOF. Used by the credential chain tests.
"""
import http.server
import json
import os
import signal
import sys
import threading

TOKEN = "imds-session-token"
CREDS = {"Code": "Success", "AccessKeyId": "ASIAIMDSEXAMPLE", "SecretAccessKey": "imds-secret",
         "Token": "imds-session", "Expiration": "2099-01-01T00:00:00Z"}
CONTAINER = {"AccessKeyId": "ASIACONTAINEREXAMPLE", "SecretAccessKey": "container-secret-key",
             "Token": "container-session", "Expiration": "2099-01-01T00:00:00Z"}


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self.reply(200, TOKEN)
        self.reply(400, "missing TTL header")

    def do_GET(self):
        if self.path == "/container-credentials":
            if self.headers.get("Authorization") != "container-secret":
                return self.reply(401, "bad authorization")
            return self.reply(200, CONTAINER)
        if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
            return self.reply(401, "IMDSv2 token required")
        if self.path == "/latest/meta-data/iam/security-credentials/":
            return self.reply(200, "test-role")
        if self.path == "/latest/meta-data/iam/security-credentials/test-role":
            return self.reply(200, CREDS)
        self.reply(404, "not found")


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    if os.environ.get("FIXTURE_WAIT_FOR_SIGNAL") == "1":
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        while True:
            signal.pause()
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


if __name__ == "__main__":
    main()
