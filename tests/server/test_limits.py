"""The limits' mechanisms, without a server: token buckets, quotas and the settings that configure them."""

from __future__ import annotations

import pytest

from mug.server.limits import (
    MAX_STORED_BYTES,
    Flooding,
    Limits,
    RateLimiter,
    StorageQuota,
    TokenBucket,
    WindowCounter,
    row_bytes,
)
from mug.server.wire import WireError, check_plain_json
from mug.settings import Settings


def test_token_bucket_refills_at_its_rate_up_to_its_capacity() -> None:
    bucket = TokenBucket(rate=2, capacity=3, now=0)
    assert [bucket.take(1, 0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(1, 0.5) and not bucket.take(1, 0.5)
    assert bucket.take(3, 100) and not bucket.take(1, 100)


def test_rate_limiter_refuses_then_disconnects_and_keeps_connections_apart() -> None:
    limiter = RateLimiter(Limits(events_per_s=1, event_burst=2, refusals_before_disconnect=2, refusals_per_s=0))
    limiter.admit("a", 10, now=0)
    limiter.admit("a", 10, now=0)
    for _ in range(2):
        with pytest.raises(WireError) as refused:
            limiter.admit("a", 10, now=0)
        assert refused.value.code == "rate_limited"
    with pytest.raises(Flooding):
        limiter.admit("a", 10, now=0)
    limiter.admit("b", 10, now=0)  # another connection has its own buckets
    limiter.forget("a")
    limiter.admit("a", 10, now=0)


def test_bytes_have_their_own_bucket() -> None:
    limiter = RateLimiter(Limits(bytes_per_s=100, byte_burst=1000))
    limiter.admit("a", 1000, now=0)
    with pytest.raises(WireError, match="more than 100 bytes a second"):
        limiter.admit("a", 1, now=0)
    limiter.admit("a", 100, now=1)


def test_a_window_counter_is_a_sliding_window() -> None:
    counter = WindowCounter()
    assert counter.take("new", "1.2.3.4", 2, 60, now=0) is None
    assert counter.take("new", "1.2.3.4", 2, 60, now=30) is None
    assert counter.take("new", "1.2.3.4", 2, 60, now=59) == 2  # refused: nothing counted
    assert counter.take("new", "5.6.7.8", 2, 60, now=59) is None
    assert counter.take("other", "1.2.3.4", 2, 60, now=59) is None  # buckets are apart
    assert counter.take("new", "1.2.3.4", 2, 60, now=60.5) is None  # the first one left the window
    assert counter.take("new", "1.2.3.4", 2, 60, now=61) == 2


def test_storage_quota_refuses_what_would_pass_it() -> None:
    quota = StorageQuota(max_bytes=100)
    quota.used["p"] = 0  # counted from the database at hello
    quota.check("p", 100)
    quota.add("p", 60)
    with pytest.raises(WireError, match="60 bytes stored; 41 more would pass the limit of 100"):
        quota.check("p", 41)
    quota.check("p", 40)


def test_a_store_that_ends_after_its_participant_left_does_not_restart_the_count() -> None:
    # the participant disconnected while the batch was being stored: their count was dropped, and a store
    # finishing afterwards must not put back a count of that batch alone (the next hello reads the database)
    quota = StorageQuota(max_bytes=100)
    quota.add("gone", 60)
    assert "gone" not in quota.used


def test_the_default_storage_quota_fits_a_long_study() -> None:
    # 30 minutes at 30 fps with 2 agents, each row with an info dict of 1 kB: the quota still has room
    rows = 30 * 60 * 30 * 2
    big_row = row_bytes("[0,1]", "-1.25", "x" * 1000, "player_0", "0" * 16)
    assert rows * big_row < MAX_STORED_BYTES / 1.5
    assert rows * row_bytes("1", "0.5", '{"k":[1,2]}', "player_0", "0" * 16) < MAX_STORED_BYTES / 9


def test_quota_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUG_NEW_PARTICIPANTS_PER_MINUTE", "500")
    monkeypatch.setenv("MUG_MAX_STORED_BYTES", "1_000_000_000")
    settings = Settings.from_env(load_env_file=False)
    assert (settings.new_participants_per_minute, settings.max_stored_bytes) == (500, 1_000_000_000)
    monkeypatch.setenv("MUG_MAX_STORED_BYTES", "0")
    with pytest.raises(ValueError, match="max_stored_bytes"):
        Settings.from_env(load_env_file=False)


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"a": [1, float("nan")]}, "a.1: nan is not JSON"),
        ([{"x": 2**63}], "0.x: integer 9223372036854775808 is out of range"),
        ({"b": b"\x00"}, "b: binary attachments"),
        ({"t": (1, 2)}, "t: tuple is not JSON"),
        ({"lo": -(2**63)}, "lo: integer -9223372036854775808 is out of range"),
    ],
)
def test_plain_json_names_the_field(value: object, where: str) -> None:
    with pytest.raises(WireError, match=where.replace("(", r"\(")):
        check_plain_json(value)


def test_plain_json_takes_the_edges_of_64_bits() -> None:
    assert check_plain_json({"lo": -(2**63) + 1, "hi": 2**63 - 1, "f": -1.5e308, "s": "é"}) > 0
