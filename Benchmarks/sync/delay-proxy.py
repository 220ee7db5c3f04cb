#!/usr/bin/env python3
"""A TCP proxy that adds a fixed one-way delay in each direction (the kernel
here has no netem), for benchmarks over a simulated WAN round trip.

Usage: delay-proxy.py UPSTREAM_PORT ONE_WAY_MS
Listens on 127.0.0.1 (an ephemeral port), prints "PORT <n>", forwards every
connection to 127.0.0.1:UPSTREAM_PORT. Each chunk is delivered ONE_WAY_MS
after it arrived, in order, without limiting bandwidth: a round trip costs
2 x ONE_WAY_MS. Exits when stdin reaches EOF.
"""
import asyncio
import sys

UPSTREAM = int(sys.argv[1])
DELAY = float(sys.argv[2]) / 1000.0


async def pipe(reader, writer):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def pump_in():
        while True:
            data = await reader.read(65536)
            await queue.put((loop.time() + DELAY, data))
            if not data:
                return

    async def pump_out():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                try:
                    writer.write_eof()
                except OSError:
                    pass
                return
            writer.write(data)
            await writer.drain()

    try:
        await asyncio.gather(pump_in(), pump_out())
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def handle(client_reader, client_writer):
    try:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", UPSTREAM)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(pipe(client_reader, up_writer), pipe(up_reader, client_writer))


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print("PORT", server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    async with server:
        await asyncio.wait([asyncio.ensure_future(stdin_closed)])


asyncio.run(main())
