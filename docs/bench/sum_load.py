"""Load for the sum servers' throughput table: CONNECTIONS clients, each
sending BATCH lines in one write and reading all BATCH answers before the
next batch (BATCH=1 is plain request/response), for SECONDS; prints the
answered lines per second. Loopback only.

    python3 docs/bench/sum_load.py PORT [BATCH] [CONNECTIONS] [SECONDS]
"""

import asyncio
import sys
import time


async def client(port, batch, deadline, counts):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    payload = b"".join(b"%d 0.5\n" % i for i in range(batch))
    answered = 0
    while time.monotonic() < deadline:
        writer.write(payload)
        pending = batch
        while pending:
            data = await reader.read(65536)
            if not data:
                raise RuntimeError("the server closed the connection")
            pending -= data.count(b"\n")
        answered += batch
    writer.write(b"close\n")
    writer.close()
    counts.append(answered)


async def main(port, batch, connections, seconds):
    counts = []
    start = time.monotonic()
    deadline = start + seconds
    await asyncio.gather(*(client(port, batch, deadline, counts) for _ in range(connections)))
    elapsed = time.monotonic() - start
    total = sum(counts)
    print(f"batch {batch}, {connections} connections: {total} lines in {elapsed:.2f} s = {total / elapsed:,.0f} lines/s")


if __name__ == "__main__":
    args = sys.argv[1:]
    port = int(args[0])
    batch = int(args[1]) if len(args) > 1 else 50
    connections = int(args[2]) if len(args) > 2 else 4
    seconds = float(args[3]) if len(args) > 3 else 3
    asyncio.run(main(port, batch, connections, seconds))
