"""The Python reference for examples/sum_server.rs's throughput table: the
same line protocol on asyncio, one coroutine per client, exact sums with
`decimal.Decimal` (precision raised so that big operands stay exact).

    python3 docs/bench/sum_server.py 7879
"""

import asyncio
import decimal
import sys

decimal.getcontext().prec = 10_000


async def handle(reader, writer):
    while True:
        line = await reader.readline()
        if not line:
            break
        words = line.split()
        if words == [b"close"]:
            break
        try:
            a, b = words
            answer = str(decimal.Decimal(a.decode()) + decimal.Decimal(b.decode()))
        except (ValueError, decimal.InvalidOperation):
            answer = "error: expected two numbers"
        writer.write(answer.encode() + b"\n")
        await writer.drain()
    writer.close()


async def main(port):
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    print(f"listening on 127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 7879))
