#!/usr/bin/env python3
"""A TCP proxy that can stall, delay and cut the connections it carries, for
the fault tests (the kernel here has no netem).

Usage: tcp-fault-proxy.py UPSTREAM_HOST UPSTREAM_PORT
Listens on 127.0.0.1 (an ephemeral port), prints "PORT <n>" once ready, and
forwards every connection to the upstream. Commands on stdin, one a line,
each answered with "OK <command>" on stdout once applied:
  pause        stop moving bytes both ways; connections stay open (a partition
               or a stopped peer as TCP sees it: no FIN, no RST)
  resume       move bytes again (the partition heals; nothing was lost)
  delay MS     hold every chunk MS milliseconds before forwarding it
  kill         reset every open connection (RST), keep listening
  refuse       reset new connections at once (an unreachable host)
  accept       accept new connections again
Exits when stdin reaches EOF, closing everything.
"""
import select
import socket
import struct
import sys
import threading
import time

UPSTREAM = (sys.argv[1], int(sys.argv[2]))
LOCK = threading.Lock()
STATE = {"paused": False, "delay": 0.0, "refuse": False}
RESUMED = threading.Condition(LOCK)
CONNECTIONS = []  # (client, upstream) pairs


def reset(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


def pump(pair):
    client, upstream = pair
    peers = {client: upstream, upstream: client}
    try:
        while True:
            readable, _, _ = select.select(list(peers), [], [], 1.0)
            for sock in readable:
                with LOCK:
                    while STATE["paused"]:
                        RESUMED.wait()
                    delay = STATE["delay"]
                data = sock.recv(65536)
                if not data:
                    peers[sock].shutdown(socket.SHUT_WR)
                    del peers[peers[sock]]
                    del peers[sock]
                    if not peers:
                        return
                    break
                if delay:
                    time.sleep(delay)
                with LOCK:
                    while STATE["paused"]:
                        RESUMED.wait()
                peers[sock].sendall(data)
            if not peers:
                return
    except (OSError, KeyError, ValueError):
        pass
    finally:
        reset(client)
        reset(upstream)
        with LOCK:
            if pair in CONNECTIONS:
                CONNECTIONS.remove(pair)


def serve(listener):
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        with LOCK:
            refuse = STATE["refuse"]
        if refuse:
            reset(client)
            continue
        try:
            upstream = socket.create_connection(UPSTREAM, timeout=10)
            upstream.settimeout(None)
        except OSError:
            reset(client)
            continue
        pair = (client, upstream)
        with LOCK:
            CONNECTIONS.append(pair)
        threading.Thread(target=pump, args=(pair,), daemon=True).start()


def main():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    threading.Thread(target=serve, args=(listener,), daemon=True).start()
    print("PORT %d" % listener.getsockname()[1], flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        with LOCK:
            if words[0] == "pause":
                STATE["paused"] = True
            elif words[0] == "resume":
                STATE["paused"] = False
                RESUMED.notify_all()
            elif words[0] == "delay" and len(words) == 2:
                STATE["delay"] = max(0.0, min(60.0, int(words[1]) / 1000.0))
            elif words[0] == "refuse":
                STATE["refuse"] = True
            elif words[0] == "accept":
                STATE["refuse"] = False
            elif words[0] == "kill":
                pairs = list(CONNECTIONS)
                CONNECTIONS.clear()
                for client, upstream in pairs:
                    reset(client)
                    reset(upstream)
            else:
                print("ERR unknown command %r" % line.strip(), flush=True)
                continue
        print("OK %s" % " ".join(words), flush=True)
    listener.close()


if __name__ == "__main__":
    main()
