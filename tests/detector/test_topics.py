"""MQTT topic scheme."""

from __future__ import annotations

import pytest

from detector.topics import (
    DEFAULT_PREFIX,
    TopicError,
    TopicKind,
    bed_topic,
    is_valid_id,
    is_valid_prefix,
    parse_topic,
    subscription,
)


def test_build_and_parse_round_trip() -> None:
    for kind in TopicKind:
        topic = bed_topic("home/sleep", "bed-1_a", kind)
        assert topic == f"home/sleep/bed-1_a/{kind.value}"
        parts = parse_topic(topic)
        assert (parts.prefix, parts.bed, parts.kind) == ("home/sleep", "bed-1_a", kind)


def test_default_prefix_is_valid() -> None:
    assert bed_topic(DEFAULT_PREFIX, "bedroom", TopicKind.RAW) == "sleep_myoclonus/bedroom/raw"


@pytest.mark.parametrize("bad", ["", "a b", "bed/1", "bed+", "bed#", "bé", "a\x00"])
def test_invalid_ids(bad: str) -> None:
    assert not is_valid_id(bad)
    with pytest.raises(TopicError):
        bed_topic("p", bad, TopicKind.RAW)


@pytest.mark.parametrize("bad", ["", "/p", "p/", "p//q", "p/+", "#"])
def test_invalid_prefixes(bad: str) -> None:
    assert not is_valid_prefix(bad)
    with pytest.raises(TopicError):
        subscription(bad, TopicKind.META)


def test_subscriptions() -> None:
    assert subscription("sm", TopicKind.META) == "sm/+/meta"
    assert subscription("sm", TopicKind.RAW, bed="b") == "sm/b/raw"


@pytest.mark.parametrize("bad", ["raw", "sm/raw", "sm/b/other", "sm/b c/raw", "/b/raw", "sm//raw"])
def test_parse_refuses_foreign_topics(bad: str) -> None:
    with pytest.raises(TopicError):
        parse_topic(bad)
