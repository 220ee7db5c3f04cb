#!/usr/bin/env python3
"""Start a moto server on 127.0.0.1 with a free port for the AWS tests.

Prints "PORT <n>" on stdout once listening, then serves until stdin reaches
EOF (the parent closed it or died) or SIGTERM arrives; with
FIXTURE_WAIT_FOR_SIGNAL=1 stdin is ignored and only SIGTERM stops it. Environment passed
through to moto: INITIAL_NO_AUTH_ACTION_COUNT, MOTO_IAM_LOAD_MANAGED_POLICIES,
MOTO_AMIS_PATH, and the rest of moto's settings.
"""
import os
import signal
import sys
import threading

from moto.moto_server.threaded_moto_server import ThreadedMotoServer


def main() -> None:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    print(f"PORT {port}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())

    def watch_stdin() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
            done.set()

    if os.environ.get("FIXTURE_WAIT_FOR_SIGNAL") != "1":
        threading.Thread(target=watch_stdin, daemon=True).start()
    done.wait()
    os._exit(0)


if __name__ == "__main__":
    main()
