from pathlib import Path

import redis

from worker.service.embedded import EmbeddedRedis, running_embedded_url


def test_embedded_redis_keeps_data_across_restart(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path) as server:
        redis.Redis.from_url(server.url).set("k", "v")
    with EmbeddedRedis(tmp_path) as server:
        assert redis.Redis.from_url(server.url).get("k") == b"v"


def test_embedded_redis_listens_on_loopback_only_and_never_evicts(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path) as server:
        client = redis.Redis.from_url(server.url, decode_responses=True)
        assert client.config_get("bind")["bind"] == "127.0.0.1"
        assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
        assert client.config_get("appendonly")["appendonly"] == "yes"


def test_running_embedded_server_is_found_by_its_state_dir(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path) as server:
        assert running_embedded_url(tmp_path) == server.url
    assert running_embedded_url(tmp_path) is None
