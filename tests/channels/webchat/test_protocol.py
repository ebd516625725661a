"""The chat socket's frames and limits, without I/O."""

from __future__ import annotations

import pytest

from channels.webchat import protocol
from contactcenter.web.frames import ProtocolError


def test_frames_parse_to_their_types() -> None:
    hello = protocol.parse_client_frame('{"type": "hello", "token": "t", "last_event_id": "1-0"}')
    assert isinstance(hello, protocol.Hello)
    assert hello.token == "t"
    message = protocol.parse_client_frame('{"type": "message", "client_id": "c1", "body": "hi"}')
    assert isinstance(message, protocol.Message)
    assert message.body == "hi"
    assert isinstance(protocol.parse_client_frame('{"type": "read", "up_to": 4}'), protocol.Read)


@pytest.mark.parametrize(("text", "code", "words"), [
    ("not json", "bad_json", "JSON object"),
    ("[1, 2]", "bad_frame", '"type"'),
    ('{"type": 3}', "bad_frame", '"type"'),
    ('{"type": "dance"}', "unknown_frame", "dance"),
    ('{"type": "message", "body": "hi"}', "bad_frame", "client_id"),
    ('{"type": "message", "client_id": "", "body": "hi"}', "bad_frame", "client_id"),
    ('{"type": "read", "up_to": -1}', "bad_frame", "up_to"),
    ('{"type": "ping", "extra": 1}', "bad_frame", "extra"),
    # Valid JSON that PostgreSQL could not keep: refused by name, the socket stays open.
    ('{"type": "start", "name": "Pri\\u0000ya"}', "bad_frame", "name: text may not contain a NUL"),
    ('{"type": "message", "client_id": "c1", "body": "\\u0000"}', "bad_frame", "body: text"),
    ('{"type": "read", "up_to": 99999999999999999999}', "bad_frame",
     "up_to: 99999999999999999999 is out of range"),
])
def test_bad_frames_say_what_is_wrong(text: str, code: str, words: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        protocol.parse_client_frame(text)
    assert caught.value.code == code
    assert words in caught.value.message
    assert caught.value.frame()["type"] == "error"


def test_message_body_limits() -> None:
    assert protocol.check_body("  hello \n", 10) == "hello"
    with pytest.raises(ProtocolError, match="empty"):
        protocol.check_body(" \n ", 10)
    with pytest.raises(ProtocolError, match="at most 10"):
        protocol.check_body("x" * 11, 10)


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    bucket = protocol.TokenBucket(rate=2.0, burst=3)
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.retry_after() == pytest.approx(0.5)
    assert bucket.take(100.5) is True  # half a second refills one at 2 per second
    assert bucket.take(100.5) is False
    assert bucket.take(110.0)
    assert bucket.take(110.0)
    assert bucket.take(110.0)
    assert not bucket.take(110.0)  # never more than the burst, however long it waited


def test_keyed_buckets_limit_each_key_apart_and_forget_idle_ones() -> None:
    buckets = protocol.KeyedBuckets(rate=1.0, burst=2, max_keys=3)
    assert [buckets.take("a", 0.0) is None for _ in range(3)] == [True, True, False]
    assert buckets.take("b", 0.0) is None  # another address has its own
    held = buckets.take("a", 0.5)
    assert held is not None
    assert held.retry_after() > 0
    assert buckets.take("a", 2.0) is None  # refilled
    for key in "cdefg":
        buckets.take(key, 100.0)
    assert len(buckets._buckets) <= 5
