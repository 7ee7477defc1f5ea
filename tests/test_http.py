"""The client's address: X-Forwarded-For is believed only from trusted proxies, up to the first untrusted hop."""
from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from sessions_app.http import client_address

BALANCER = "10.0.0.5"


def request_from(remote: str, forwarded: str | None = None) -> Any:
    meta: dict[str, Any] = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


def test_without_trusted_proxies_the_peer_is_the_client_whatever_it_forwards(settings: Any) -> None:
    settings.TRUSTED_PROXIES = []
    assert client_address(request_from(BALANCER, "203.0.113.7")) == BALANCER


def test_a_trusted_proxy_is_believed_about_its_client(settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    assert client_address(request_from(BALANCER, "203.0.113.7")) == "203.0.113.7"


def test_a_spoofed_header_from_an_untrusted_peer_is_ignored(settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    assert client_address(request_from("198.51.100.20", "203.0.113.7")) == "198.51.100.20"


def test_what_the_client_wrote_left_of_its_own_address_is_not_believed(settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    # The client sent "X-Forwarded-For: 192.0.2.1"; the balancer appended the address it saw.
    assert client_address(request_from(BALANCER, "192.0.2.1, 203.0.113.7")) == "203.0.113.7"


def test_a_chain_of_trusted_proxies_is_walked_from_the_right(settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/24", "172.16.0.9"]
    assert client_address(request_from(BALANCER, "192.0.2.1, 203.0.113.7, 172.16.0.9")) == "203.0.113.7"


@pytest.mark.parametrize("forwarded", ["", "unknown", "not an address", "203.0.113.7\x00", "999.1.1.1", ",,,"])
def test_garbage_in_the_header_leaves_the_proxy_as_the_client(settings: Any, forwarded: str) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    assert client_address(request_from(BALANCER, forwarded)) == BALANCER


def test_garbage_left_of_the_proxys_own_entry_is_skipped(settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    assert client_address(request_from(BALANCER, "<script>, 203.0.113.7")) == "203.0.113.7"


@pytest.mark.parametrize(("forwarded", "expected"), [
    ("203.0.113.7:51234", "203.0.113.7"),
    ("2001:db8::7", "2001:db8::7"),
    ("[2001:db8::7]:443", "2001:db8::7"),
    ("::ffff:203.0.113.7", "203.0.113.7"),
])
def test_ports_brackets_and_mapped_addresses_are_understood(settings: Any, forwarded: str, expected: str) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    assert client_address(request_from(BALANCER, forwarded)) == expected


def test_when_every_hop_is_trusted_the_farthest_one_is_the_client(settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_address(request_from(BALANCER, "10.9.9.9, 10.1.1.1")) == "10.9.9.9"


def test_a_mistyped_proxy_setting_is_named(settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/24", "balancer.internal"]
    with pytest.raises(ImproperlyConfigured, match="balancer.internal"):
        client_address(request_from(BALANCER, "203.0.113.7"))
