#!/usr/bin/env python3
"""The Python seed's structure, as a throughput peer of `DaemonExecutor`.

Usage: python3 seed_peer.py M N ROUNDS

Exactly the seed's structure (shared/seeds/000_690a14c1b803ee90.txt):

- an asyncio event loop on a daemon thread, running `loop.run_forever()`;
- one `asyncio.Semaphore(N)`, created by a coroutine running on that loop
  (so it belongs to that loop on every Python version);
- the plain (main) thread submits M coroutines with
  `asyncio.run_coroutine_threadsafe(body(i), loop)`, then waits every
  `concurrent.futures.Future` in order with `.result()`, checking `i + 1`.

The body is the one of BENCH-PEERS.md: under `async with sem:` count in
(ACTIVE, and its high-water mark MAX_ACTIVE, which proves the limit from
inside the tasks), yield once with `await asyncio.sleep(0)` (asyncio's
yield), count out, return `i + 1`. ACTIVE and MAX_ACTIVE are plain globals:
only the loop's thread writes them, so they need no lock.

Building the loop, its thread and the semaphore, and one warm-up round of
M/10 tasks, are outside the clock. Each of the ROUNDS rounds then prints one
line: the seconds (`time.perf_counter`) from before the first submit to after
the last `.result()`. Interpreter start is therefore outside the clock too.
A failed check exits non-zero with a message on stderr.
"""

import asyncio
import sys
import threading
import time

ACTIVE = 0
MAX_ACTIVE = 0
sem = None  # The asyncio.Semaphore(N), created on the loop's thread.


async def body(i):
    global ACTIVE, MAX_ACTIVE
    async with sem:
        ACTIVE += 1
        MAX_ACTIVE = max(MAX_ACTIVE, ACTIVE)
        await asyncio.sleep(0)
        ACTIVE -= 1
    return i + 1


async def make_semaphore(n):
    global sem
    sem = asyncio.Semaphore(n)


def check(ok, message):
    if not ok:
        sys.exit("seed_peer.py: " + message)


def one_round(loop, m, n):
    """Submits m bodies from this (plain) thread, waits each in order;
    returns the elapsed seconds."""
    global MAX_ACTIVE
    MAX_ACTIVE = 0  # The loop is idle between rounds.
    start = time.perf_counter()
    futures = [asyncio.run_coroutine_threadsafe(body(i), loop) for i in range(m)]
    for i, future in enumerate(futures):
        value = future.result()
        check(value == i + 1, f"task {i} returned {value}")
    elapsed = time.perf_counter() - start
    check(ACTIVE == 0, f"{ACTIVE} bodies still running")
    check(1 <= MAX_ACTIVE <= n, f"{MAX_ACTIVE} bodies ran at once, limit {n}")
    return elapsed


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: seed_peer.py M N ROUNDS")
    m, n, rounds = (int(a) for a in sys.argv[1:])
    check(m >= 1 and n >= 1 and rounds >= 1, "M, N and ROUNDS must be >= 1")

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="DaemonThread", daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(make_semaphore(n), loop).result()

    one_round(loop, max(1, m // 10), n)  # Warm-up, untimed.
    for _ in range(rounds):
        print(f"{one_round(loop, m, n):.9f}", flush=True)

    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    loop.close()


if __name__ == "__main__":
    main()
