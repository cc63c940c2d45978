"""Relay (spec §3 "Relay"): every message arrives on the other side with the
same type and bytes, in order, and the upstream echo comes back the same way."""

from __future__ import annotations

import os
import random
import string

from wsutil import client, recv, run

MiB = 1024 * 1024


def test_text_message(upstream, lifeline):
    ll = lifeline(upstream.url)

    async def scenario():
        async with client(ll.url) as ws:
            await ws.send("hello, κόσμε ✓")
            assert await recv(ws) == "hello, κόσμε ✓"

    run(scenario())
    conn = upstream.wait_for_connection()
    msgs = upstream.wait_for_messages(conn, 1)
    assert msgs == ["hello, κόσμε ✓"]
    assert isinstance(msgs[0], str)


def test_binary_message(upstream, lifeline):
    ll = lifeline(upstream.url)
    payload = bytes(range(256)) * 4

    async def scenario():
        async with client(ll.url) as ws:
            await ws.send(payload)
            got = await recv(ws)
            assert isinstance(got, bytes)
            assert got == payload

    run(scenario())
    conn = upstream.wait_for_connection()
    assert upstream.wait_for_messages(conn, 1) == [payload]


def test_fragmented_messages_are_joined(upstream, lifeline):
    ll = lifeline(upstream.url)
    text_parts = ["frag1-", "frag2-", "ωmega-", "end"]
    bin_parts = [b"\x00\x01", b"", b"\xff" * 300, b"tail"]

    async def scenario():
        async with client(ll.url) as ws:
            await ws.send(text_parts)  # an iterable is sent as one fragmented message
            assert await recv(ws) == "".join(text_parts)
            await ws.send(bin_parts)
            assert await recv(ws) == b"".join(bin_parts)

    run(scenario())
    conn = upstream.wait_for_connection()
    msgs = upstream.wait_for_messages(conn, 2)
    assert msgs == ["".join(text_parts), b"".join(bin_parts)]
    assert isinstance(msgs[0], str) and isinstance(msgs[1], bytes)


def test_empty_messages(upstream, lifeline):
    ll = lifeline(upstream.url)

    async def scenario():
        async with client(ll.url) as ws:
            await ws.send("")
            got = await recv(ws)
            assert got == "" and isinstance(got, str)
            await ws.send(b"")
            got = await recv(ws)
            assert got == b"" and isinstance(got, bytes)

    run(scenario())
    conn = upstream.wait_for_connection()
    assert upstream.wait_for_messages(conn, 2) == ["", b""]


def test_one_mib_messages_both_ways(upstream, lifeline):
    ll = lifeline(upstream.url)
    blob = os.urandom(MiB)
    rnd = random.Random(1234)
    text = "".join(rnd.choice(string.ascii_letters + "ü€") for _ in range(MiB // 2))

    async def scenario():
        async with client(ll.url) as ws:
            await ws.send(blob)
            got = await recv(ws, timeout=15)
            assert isinstance(got, bytes)
            assert len(got) == len(blob)
            assert got == blob
            await ws.send(text)
            got = await recv(ws, timeout=15)
            assert isinstance(got, str)
            assert len(got) == len(text)
            assert got == text

    run(scenario())
    conn = upstream.wait_for_connection()
    msgs = upstream.wait_for_messages(conn, 2, timeout=10)
    assert len(msgs[0]) == MiB and msgs[0] == blob
    assert msgs[1] == text


def test_thousand_messages_in_order(upstream, lifeline):
    ll = lifeline(upstream.url)
    count = 1000
    sent = [f"msg-{i:04d}" if i % 2 == 0 else f"bin-{i:04d}".encode() for i in range(count)]

    async def scenario():
        async with client(ll.url) as ws:
            for m in sent:
                await ws.send(m)
            got = [await recv(ws, timeout=10) for _ in range(count)]
            assert len(got) == count
            mismatches = [i for i, (a, b) in enumerate(zip(sent, got)) if a != b or type(a) is not type(b)]
            assert not mismatches, f"{len(mismatches)} out of order/changed, first at {mismatches[0]}: {got[mismatches[0]]!r}"

    run(scenario())
    conn = upstream.wait_for_connection()
    msgs = upstream.wait_for_messages(conn, count, timeout=10)
    assert msgs == sent


def test_messages_between_many_sessions_do_not_mix(upstream, lifeline):
    """Eight concurrent sessions, each gets back only its own messages."""
    import asyncio

    ll = lifeline(upstream.url)

    async def one(n: int) -> None:
        async with client(ll.url) as ws:
            for i in range(50):
                await ws.send(f"s{n}-{i}")
            got = [await recv(ws) for _ in range(50)]
            assert got == [f"s{n}-{i}" for i in range(50)]

    async def scenario():
        await asyncio.gather(*(one(n) for n in range(8)))

    run(scenario())
    assert len(upstream.connections) == 8


def test_fragmented_message_from_upstream(upstream, lifeline):
    ll = lifeline(upstream.url)

    async def scenario():
        async with client(ll.url) as ws:
            await ws.send("__fragments__ part1-|part2-|πart3")
            got = await recv(ws)
            assert got == "part1-part2-πart3" and isinstance(got, str)

    run(scenario())


def test_max_connections_gives_503(upstream, lifeline):
    import asyncio

    from websockets.exceptions import InvalidStatus

    ll = lifeline(upstream.url, {"downstream": {"max_connections": 2}})

    async def scenario():
        async with client(ll.url) as a, client(ll.url) as b:
            await a.send("a")
            await b.send("b")
            assert await recv(a) == "a" and await recv(b) == "b"
            try:
                async with client(ll.url):
                    pass
            except InvalidStatus as exc:
                status = exc.response.status_code
            else:
                status = 101
            assert status == 503, f"third connection over max_connections 2 got {status}"
        # Slots are given back when sessions end.
        await asyncio.sleep(0.2)
        async with client(ll.url) as c:
            await c.send("c")
            assert await recv(c) == "c"

    run(scenario())
