"""The in-memory lookup cache and the webhook's settings (in-process, no server)."""

from __future__ import annotations

import pytest

from imgdigest import platform as platforms
from imgdigest.errors import ConfigError
from imgdigest.webhook.config import WebhookConfig, load
from imgdigest.webhook.ttlcache import TTLCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_tag_answers_expire_after_the_ttl_and_digest_answers_never():
    clock = Clock()
    cache: TTLCache[str] = TTLCache(ttl=60, max_size=10, clock=clock)
    cache.put("tag", "a")
    cache.put("digest", "b", permanent=True)
    clock.now = 59.9
    assert (cache.get("tag"), cache.get("digest")) == ("a", "b")
    clock.now = 60.0
    assert (cache.get("tag"), cache.get("digest")) == (None, "b")
    clock.now = 10**9
    assert cache.get("digest") == "b"


def test_the_size_bound_evicts_the_least_recently_used():
    cache: TTLCache[int] = TTLCache(ttl=60, max_size=3, clock=Clock())
    for i in range(3):
        cache.put(i, i, permanent=i == 0)
    cache.get(0)  # used: now the most recent
    cache.put(3, 3)
    assert [cache.get(i) for i in range(4)] == [0, None, 2, 3]
    assert len(cache) == 3


def test_a_zero_ttl_caches_no_tags_but_still_digests():
    cache: TTLCache[str] = TTLCache(ttl=0, max_size=3, clock=Clock())
    cache.put("tag", "a")
    cache.put("digest", "b", permanent=True)
    assert (cache.get("tag"), cache.get("digest")) == (None, "b")


def test_budget_stays_below_timeout_seconds():
    assert WebhookConfig().budget == 8.5
    assert WebhookConfig(timeout_seconds=2).budget == 1.0
    assert WebhookConfig(timeout_seconds=10, budget_seconds=3).budget == 3


def test_file_settings_with_flags_on_top(tmp_path):
    path = tmp_path / "webhook.yaml"
    path.write_text(
        "enforce: warn\non-resolve-error: allow\nexempt_images: [a*, b]\nplatform: linux/arm64\n"
        "timeout_seconds: 5\n"
    )
    config = load(path, enforce="deny", exempt_images=None)
    assert config.enforce == "deny"
    assert config.on_resolve_error == "allow"
    assert config.exempt_images == ("a*", "b")
    assert config.platform == platforms.parse("linux/arm64")
    assert config.budget == 3.5


BAD = [
    ("enforce: maybe\n", "enforce must be deny or warn"),
    ("budget_seconds: 12\n", "must be positive and below timeout_seconds"),
    ("timeout_seconds: 31\n", "within (0, 30]"),
    ("exempt_images: 3\n", "exempt_images must be a list of strings"),
    ("colour: blue\n", "unknown webhook setting(s): colour"),
    ("max-body-bytes: 0\n", "max_body_bytes must be positive"),
    ("platform: linux/\n", "webhook.yaml"),
    ("a: [\n", "webhook.yaml:2: webhook config is not valid YAML"),
    ("- a\n", "must be a mapping"),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[b[1] for b in BAD])
def test_bad_settings_name_the_file_and_the_setting(tmp_path, text, message):
    path = tmp_path / "webhook.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load(path)
    assert message in str(err.value)
