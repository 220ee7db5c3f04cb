#!/usr/bin/env python3
"""A tiny HTTP proxy in front of moto that injects failures, for the retry and timeout tests.

Usage: fault-proxy.py UPSTREAM_URL ACTION[,ACTION...]
Each incoming request consumes the next action; after the list is used up
every request is forwarded. Actions:
  pass      forward to UPSTREAM_URL unchanged
  throttle  answer 400 with an EC2/Query RequestLimitExceeded error
  jthrottle answer 400 with a JSON ThrottlingException
  500       answer 500 InternalError
  hang      accept the request and never answer
With FAULT_SPOT_CAPACITY=N (FAULT_ON_DEMAND_CAPACITY=N) in the environment,
every spot (on-demand) CreateFleet gets at most N instances: the request is
rewritten before moto sees it (moto does not check signatures by default),
and the answer lists InsufficientInstanceCapacity for the rest, as EC2 does
when capacity runs out; N=0 answers without asking moto.
Also works as a plain HTTP proxy (absolute-form request targets are
forwarded to UPSTREAM_URL). Prints "PORT <n>" when listening. GET /__count returns the number of
requests seen (excluding /__count). Exits when stdin reaches EOF.
"""
import http.server
import os
import signal
import sys
import threading
import time
import urllib.parse
import urllib.request

UPSTREAM = sys.argv[1].rstrip("/")
ACTIONS = [a for a in sys.argv[2].split(",") if a] if len(sys.argv) > 2 else []
LOCK = threading.Lock()
# Never route the forwarded call through a proxy from the environment.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
COUNT = 0

THROTTLE = (b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code>'
            b'<Message>Request limit exceeded.</Message></Error></Errors><RequestID>fault-1</RequestID></Response>')
JTHROTTLE = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
INTERNAL = (b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>InternalError</Code>'
            b'<Message>An internal error has occurred</Message></Error></Errors><RequestID>fault-2</RequestID></Response>')


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type="text/xml"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/__count":
            with LOCK:
                self.reply(200, str(COUNT).encode(), "text/plain")
            return
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def handle_any(self):
        global COUNT
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with LOCK:
            COUNT += 1
            action = ACTIONS.pop(0) if ACTIONS else "pass"
        if action == "hang":
            time.sleep(3600)
            return
        if action == "throttle":
            return self.reply(400, THROTTLE)
        if action == "jthrottle":
            return self.reply(400, JTHROTTLE, "application/x-amz-json-1.1")
        if action == "500":
            return self.reply(500, INTERNAL)
        missing, lifecycle = 0, ""
        if self.command == "POST" and b"Action=CreateFleet" in body:
            form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
            lifecycle = form.get("TargetCapacitySpecification.DefaultTargetCapacityType", [""])[0]
            cap = os.environ.get({"spot": "FAULT_SPOT_CAPACITY", "on-demand": "FAULT_ON_DEMAND_CAPACITY"}.get(lifecycle, "-"))
            if cap is not None:
                wanted = int(form["TargetCapacitySpecification.TotalTargetCapacity"][0])
                given = min(wanted, int(cap))
                missing = wanted - given
                if given == 0:
                    return self.reply(200, fleet_answer(b"", missing, lifecycle))
                form["TargetCapacitySpecification.TotalTargetCapacity"] = [str(given)]
                body = urllib.parse.urlencode(form, doseq=True).encode()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("content-length", "connection", "proxy-connection")}
        path = self.path
        if path.startswith("http://") or path.startswith("https://"):
            # Absolute form: we are being used as an HTTP proxy.
            path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
        request = urllib.request.Request(UPSTREAM + path, data=body, headers=headers, method=self.command)
        try:
            with DIRECT.open(request) as response:
                status, data, ctype = response.status, response.read(), response.headers.get("Content-Type", "text/xml")
        except urllib.error.HTTPError as error:
            status, data, ctype = error.code, error.read(), error.headers.get("Content-Type", "text/xml")
        if missing and status == 200:
            data = fleet_answer(data, missing, lifecycle)
        self.reply(status, data, ctype)


def fleet_answer(upstream: bytes, missing: int, lifecycle: str) -> bytes:
    """A CreateFleet answer (moto's, or an empty one) with an errorSet for `missing` instances."""
    error = (b"<errorSet><item><errorCode>InsufficientInstanceCapacity</errorCode><errorMessage>There is no " + lifecycle.encode()
             + b" capacity available that matches your request (" + str(missing).encode() + b" missing).</errorMessage>"
             b"<lifecycle>" + lifecycle.encode() + b"</lifecycle></item></errorSet>")
    if not upstream:
        return (b'<?xml version="1.0" encoding="UTF-8"?><CreateFleetResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
                b"<requestId>fault-3</requestId><fleetId>fleet-fault</fleetId>" + error + b"<fleetInstanceSet/></CreateFleetResponse>")
    return upstream.replace(b"</fleetId>", b"</fleetId>" + error, 1)


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
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
