"""Wait for a condition with a deadline, instead of sleeping and hoping it has happened."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, overload


def wait_until[T](predicate: Callable[[], T], timeout: float, *, interval: float = 0.02, what: str = "") -> T:
    """Call `predicate` until it returns something truthy, and return that; fail after `timeout` seconds.

    Args:
        predicate: the condition; it may raise to stop the wait at once (e.g. the process died).
        timeout: seconds until the wait fails.
        interval: seconds between calls.
        what: the condition in words, for the error.

    Returns:
        The predicate's first truthy result.

    Raises:
        TimeoutError: the deadline passed with the condition still false.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"not within {timeout:g} s: {what or getattr(predicate, '__name__', 'condition')}")
        time.sleep(interval)


@overload
async def wait_until_async[T](
    predicate: Callable[[], Awaitable[T]], timeout: float, *, interval: float = 0.01, what: str = ""
) -> T: ...


@overload
async def wait_until_async[T](
    predicate: Callable[[], T], timeout: float, *, interval: float = 0.01, what: str = ""
) -> T: ...


async def wait_until_async(
    predicate: Callable[[], Any], timeout: float, *, interval: float = 0.01, what: str = ""
) -> Any:
    """The same as :func:`wait_until` inside an event loop: the predicate may be a coroutine function.

    Raises:
        TimeoutError: the deadline passed with the condition still false.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"not within {timeout:g} s: {what or getattr(predicate, '__name__', 'condition')}")
        await asyncio.sleep(interval)
