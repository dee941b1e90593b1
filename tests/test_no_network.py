"""The suite itself may not reach the network; loopback stays open for the app and fake servers."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import NameLookupBlockedError, NetworkAccessError


def test_connecting_to_a_public_address_is_refused() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(NetworkAccessError):
        sock.connect(("192.0.2.1", 80))  # TEST-NET-1: never routed, and never tried


def test_looking_up_the_model_hub_is_refused() -> None:
    with pytest.raises(NameLookupBlockedError, match=r"huggingface\.co"):
        socket.getaddrinfo("huggingface.co", 443)


def test_loopback_names_still_resolve_for_fake_endpoints() -> None:
    assert socket.getaddrinfo("127.0.0.1", 80)
    assert socket.getaddrinfo("localhost", 80)


def test_loopback_stays_reachable() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=2):
            pass


def test_the_model_hub_is_offline() -> None:
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"
