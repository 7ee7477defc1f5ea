"""portal.cache.RedisCache against a redis-server of the test's own."""
from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator

import pytest
from django.core.cache import CacheHandler
from redis.exceptions import ConnectionError as RedisConnectionError

from portal.cache import RedisCache
from tests.background.conftest import free_port
from tests.redis_server import Redis


@pytest.fixture
def redis() -> Iterator[Redis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = Redis(free_port())
    server.start()
    yield server
    server.stop()


def cache_on(redis: Redis) -> RedisCache:
    handler = CacheHandler({"default": {"BACKEND": "portal.cache.RedisCache", "LOCATION": redis.url,
                                        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2}}})
    cache = handler["default"]
    assert isinstance(cache, RedisCache)
    return cache


def test_values_round_trip_and_add_keeps_the_first(redis: Redis) -> None:
    cache = cache_on(redis)
    cache.set("answer", {"n": 42}, timeout=60)
    assert cache.get("answer") == {"n": 42}
    assert cache.add("once", 1, timeout=60) and not cache.add("once", 2, timeout=60)
    assert cache.get("once") == 1
    cache.delete("answer")
    assert cache.get("answer", "gone") == "gone"


def test_one_client_serves_every_call_and_every_thread(redis: Redis) -> None:
    cache = cache_on(redis)
    clients = {id(cache._cache.get_client()) for _ in range(3)}
    failures: list[BaseException] = []

    def count(worker: int) -> None:
        try:
            for n in range(200):
                cache.set(f"w{worker}:{n}", n, timeout=60)
                clients.add(id(cache._cache.get_client()))
                assert cache.get(f"w{worker}:{n}") == n
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)

    threads = [threading.Thread(target=count, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(clients) == 1
    assert all(cache.get(f"w{w}:199") == 199 for w in range(4))


def test_the_shared_client_works_again_after_redis_restarts(redis: Redis) -> None:
    cache = cache_on(redis)
    cache.set("before", 1, timeout=60)
    redis.stop()
    with pytest.raises(RedisConnectionError):
        cache.get("before")
    redis.start()
    cache.set("after", 2, timeout=60)
    assert cache.get("after") == 2 and cache.get("before") is None, "a new server, reached by the same client"
