"""The UDP impairment relay of benchmarks/impairment, against a UDP echo server on loopback (no browsers)."""

from __future__ import annotations

import asyncio
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "impairment"))

from udp_proxy import Impairment, ProxyConfig, UdpImpairmentProxy

from mug.testing import wait_until_async


class Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.transport.sendto(data, addr)


class Client(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.got: asyncio.Queue[tuple[bytes, float]] = asyncio.Queue()
        self.refused = 0  # ICMP port unreachable: a datagram reached a closed port

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.got.put_nowait((data, time.perf_counter()))

    def error_received(self, exc: Exception) -> None:
        if isinstance(exc, ConnectionRefusedError):
            self.refused += 1


async def setup(up: Impairment, down: Impairment, seed: int = 1, duration_s: float = 20.0) -> tuple[Any, ...]:
    loop = asyncio.get_running_loop()
    echo_t, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    proxy = await UdpImpairmentProxy(
        ProxyConfig(("127.0.0.1", 0), echo_t.get_extra_info("sockname"), up, down, seed, duration_s=duration_s)
    ).start()
    client_t, client = await loop.create_datagram_endpoint(Client, remote_addr=proxy.address)
    return echo_t, proxy, client_t, client


async def teardown(echo_t: Any, proxy: UdpImpairmentProxy, client_t: Any) -> None:
    proxy.stop()
    await proxy.wait()
    client_t.close()
    echo_t.close()
    await asyncio.sleep(0)


async def test_delay_is_applied_in_each_direction() -> None:
    echo_t, proxy, client_t, client = await setup(Impairment(delay_ms=15), Impairment(delay_ms=10))
    try:
        rtts = []
        for i in range(20):
            t0 = time.perf_counter()
            client_t.sendto(b"%d" % i)
            data, t1 = await asyncio.wait_for(client.got.get(), 2)
            assert data == b"%d" % i
            rtts.append((t1 - t0) * 1000)
        assert min(rtts) >= 24.5  # 15 + 10 ms, timers fire on time or late
        summary = proxy.summary()
        assert summary["up"]["forwarded"] == summary["down"]["forwarded"] == 20
        assert summary["up"]["mean_delay_ms"] == 15.0 and summary["down"]["mean_delay_ms"] == 10.0
        assert summary["flows"] == 1
    finally:
        await teardown(echo_t, proxy, client_t)


async def count_replies(seed: int) -> tuple[int, int, float]:
    echo_t, proxy, client_t, client = await setup(Impairment(loss=0.2), Impairment(loss=0.1), seed=seed)
    try:
        for i in range(2000):
            client_t.sendto(b"%d" % i)
            if i % 50 == 49:
                await asyncio.sleep(0.005)  # stay far below the socket buffers
        up, down = proxy.up.counters, proxy.down.counters

        def settled() -> bool:  # every packet's fate decided in both directions, every reply delivered
            return (
                up.packets_in == 2000
                and down.packets_in == up.forwarded
                and down.forwarded == down.packets_in - down.dropped
                and client.got.qsize() == down.forwarded
            )

        await wait_until_async(settled, 5, what="all 2000 packets relayed or dropped both ways")
        return client.got.qsize(), up.dropped, up.loss_ratio
    finally:
        await teardown(echo_t, proxy, client_t)


async def test_loss_ratio_is_close_to_the_configured_one_and_seeded() -> None:
    replies, dropped, up_ratio = await count_replies(seed=7)
    assert abs(up_ratio - 0.2) < 0.03
    assert abs(replies / 2000 - 0.8 * 0.9) < 0.04  # a reply needs both directions
    again = await count_replies(seed=7)
    assert again[:2] == (replies, dropped)  # same seed, same fate for every packet
    assert (await count_replies(seed=8))[1] != dropped


async def test_jitter_keeps_order_unless_told_otherwise() -> None:
    for keep in (True, False):
        echo_t, proxy, client_t, client = await setup(
            Impairment(delay_ms=10, jitter_ms=8, keep_order=keep), Impairment()
        )
        try:
            for i in range(200):
                client_t.sendto(b"%d" % i)
                await asyncio.sleep(0.001)
            await wait_until_async(partial(_has, client.got, 200), 5, what="all 200 echoes back")
            order = [int(client.got.get_nowait()[0]) for _ in range(client.got.qsize())]
            assert sorted(order) == list(range(200))
            assert (order == sorted(order)) is keep
            assert (proxy.up.counters.reordered > 0) is not keep
        finally:
            await teardown(echo_t, proxy, client_t)


async def test_the_proxy_stops_by_itself_and_relays_nothing_after() -> None:
    echo_t, proxy, client_t, client = await setup(Impairment(), Impairment(), duration_s=0.3)
    try:
        client_t.sendto(b"before")
        assert (await asyncio.wait_for(client.got.get(), 1))[0] == b"before"
        await asyncio.wait_for(proxy.wait(), 2)  # it stops by itself (after duration_s = 0.3 s)
        assert proxy.listener is not None and proxy.listener.is_closing()
        forwarded = proxy.up.counters.forwarded
        client_t.sendto(b"after")
        # the kernel answers a datagram to the closed port with "port unreachable": then it was not relayed
        await wait_until_async(lambda: client.refused > 0, 2, what="the closed port refused the datagram")
        assert client.got.empty() and proxy.up.counters.forwarded == forwarded
    finally:
        await teardown(echo_t, proxy, client_t)


def _has(queue: asyncio.Queue[Any], n: int) -> bool:
    return queue.qsize() == n
