"""Live feeds on a real Redis: resume after a cursor, and refuse to resume across a gap."""

from __future__ import annotations

from contactcenter import feeds
from contactcenter.core import Core
from contactcenter.feeds import Notice


async def test_events_after_a_cursor_in_order(core: Core) -> None:
    feed = feeds.user_feed(1, 7)
    assert await feeds.latest_id(core.redis, feed) == feeds.START
    await feeds.push(core.redis, [Notice(feed, {"kind": "a"}), Notice(feed, {"kind": "b"})])
    cursor = await feeds.latest_id(core.redis, feed)
    await feeds.push(core.redis, [Notice(feed, {"kind": "c"}), Notice(feed, {"kind": "d"})])

    entries = await feeds.since(core.redis, feed, cursor)
    assert entries is not None
    assert [e for _, e in entries] == [{"kind": "c"}, {"kind": "d"}]
    assert all(entry_id > cursor for entry_id, _ in entries)
    assert await feeds.since(core.redis, feed, entries[-1][0]) == []


async def test_unknown_or_trimmed_cursor_means_resync(core: Core) -> None:
    feed = feeds.customer_feed(1, 3)
    await feeds.push(core.redis, [Notice(feed, {"kind": "a"})])
    first = await feeds.latest_id(core.redis, feed)
    assert await feeds.since(core.redis, feed, "1-0") is None  # never in this feed
    await core.redis.xtrim(feed, maxlen=0)  # what retention does to old entries
    await feeds.push(core.redis, [Notice(feed, {"kind": "b"})])
    assert await feeds.since(core.redis, feed, first) is None


async def test_a_flushed_redis_means_resync(core: Core) -> None:
    feed = feeds.user_feed(1, 9)
    await feeds.push(core.redis, [Notice(feed, {"kind": "a"})])
    cursor = await feeds.latest_id(core.redis, feed)
    await core.redis.flushdb()
    assert await feeds.since(core.redis, feed, cursor) is None


async def test_from_the_start_of_a_feed_that_was_never_trimmed(core: Core) -> None:
    feed = feeds.user_feed(1, 11)
    await feeds.push(core.redis, [Notice(feed, {"kind": "a"})])
    entries = await feeds.since(core.redis, feed, feeds.START)
    assert entries is not None
    assert [e for _, e in entries] == [{"kind": "a"}]
