#!/usr/bin/env python3
"""The instance metadata service (IMDSv2) of one simulated instance.

Listens on 169.254.169.254:80 inside the machine's network namespace and
answers what cloud-init and our boothook ask: a session token, then
meta-data/ami-launch-index and meta-data/instance-id. Started by machine.sh
inside the machine's PID namespace, so it ends with the machine.

    imds.py LAUNCH_INDEX INSTANCE_ID
"""
import http.server
import secrets
import sys

INDEX, INSTANCE_ID = sys.argv[1], sys.argv[2]
TOKENS = set()
META = {"ami-launch-index": INDEX, "instance-id": INSTANCE_ID}


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body=""):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        if self.path != "/latest/api/token" or not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self.reply(400)
        token = secrets.token_hex(16)
        TOKENS.add(token)
        self.reply(200, token)

    def do_GET(self):
        if self.headers.get("X-aws-ec2-metadata-token") not in TOKENS:
            return self.reply(401)
        prefix = "/latest/meta-data/"
        key = self.path[len(prefix):] if self.path.startswith(prefix) else None
        if key in META:
            return self.reply(200, META[key])
        self.reply(404)


server = http.server.ThreadingHTTPServer(("169.254.169.254", 80), Handler)
print("listening", flush=True)
server.serve_forever()
