#!/usr/bin/env python3
"""The internet gateway of one simulated instance: an HTTP proxy.

A machine of the simulated cloud lives in a network namespace with no route
out, while a real EC2 instance reaches Debian's registry and PyPI (a dev
image's bootstrap installs packages; Mercurial's `make local` fetches its
build requirements). machine.sh starts this proxy on the host side of the
machine's veth pair and points apt, pip, curl and uv at it, so the machine
reaches what this machine reaches.

Plain `GET http://…` requests (apt) are forwarded; `CONNECT host:443` (pip,
uv, curl over TLS) is spliced end to end, so certificates are checked inside
the machine as on a real instance. Only ports 80 and 443 are allowed.

    egress.py ADDRESS PORT
"""
import select
import socket
import socketserver
import sys

ALLOWED_PORTS = {80, 443}
LIMIT = 64 * 1024


def splice(a: socket.socket, b: socket.socket) -> None:
    sockets = [a, b]
    while True:
        readable, _, failed = select.select(sockets, [], sockets, 300)
        if failed or not readable:
            return
        for s in readable:
            data = s.recv(65536)
            if not data:
                return
            (b if s is a else a).sendall(data)


class Handler(socketserver.StreamRequestHandler):
    def reply(self, status: str) -> None:
        self.wfile.write(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())

    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk or len(head) > LIMIT:
                return
            head += chunk
        head, rest = head.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ")
        except ValueError:
            return self.reply("400 Bad Request")
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            return self.tunnel(host, int(port) if port.isdigit() else 0, rest, established=True)
        if not target.startswith("http://"):
            return self.reply("400 Bad Request")
        authority, _, path = target[len("http://"):].partition("/")
        host, _, port = authority.partition(":")
        headers = [line for line in lines[1:] if not line.lower().startswith(("proxy-", "connection:", "keep-alive:"))]
        request = f"{method} /{path} {version}\r\n" + "".join(h + "\r\n" for h in headers) + "Connection: close\r\n\r\n"
        self.tunnel(host, int(port) if port.isdigit() else 80, request.encode("latin-1") + rest, established=False)

    def tunnel(self, host: str, port: int, first: bytes, established: bool) -> None:
        if port not in ALLOWED_PORTS or not host:
            return self.reply("403 Forbidden")
        try:
            upstream = socket.create_connection((host, port), timeout=30)
        except OSError:
            return self.reply("502 Bad Gateway")
        with upstream:
            upstream.settimeout(None)
            if established:
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if first:
                upstream.sendall(first)
            splice(self.request, upstream)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main() -> None:
    address, port = sys.argv[1], int(sys.argv[2])
    with Server((address, port), Handler) as server:
        print("listening", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
