"""Fetching other issuers' documents never reaches into the server's own network."""

from __future__ import annotations

import pytest

from microcred.credentials.resolvers import HttpResolver, refuse_private_host
from microcred.credentials.verifier import ResolutionError


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/.well-known/did.json",
        "https://localhost/status/1",
        "https://[::1]/did.json",
        "https://10.0.0.8/did.json",
        "https://169.254.169.254/latest/meta-data",
    ],
)
def test_private_and_loopback_hosts_are_refused(url: str) -> None:
    with pytest.raises(ResolutionError, match="private network"):
        refuse_private_host(url, "DID document")


def test_an_unknown_host_is_named_unreachable() -> None:
    with pytest.raises(ResolutionError, match="unreachable"):
        refuse_private_host("https://no-such-host.invalid/did.json", "DID document")


def test_the_resolver_checks_before_it_fetches() -> None:
    resolver = HttpResolver(timeout_s=1.0)
    with pytest.raises(ResolutionError, match="private network"):
        resolver.status_list_credential("https://127.0.0.1:8000/status-lists/1")
    with pytest.raises(ResolutionError, match="private network"):
        resolver.did_document("did:web:localhost%3A8000")
