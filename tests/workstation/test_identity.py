"""The optional identity provider: signing out of the app also signs out of the provider, so the
sign-in page does not let the same person straight back in."""

from __future__ import annotations

import pytest
import streamlit as st

from workstation import identity


@pytest.mark.parametrize("provider_signed_in", [True, False], ids=["provider", "password"])
def test_signing_out_leaves_the_identity_provider_only_when_signed_in_through_it(
    monkeypatch: pytest.MonkeyPatch, provider_signed_in: bool
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(identity, "logged_in", lambda: provider_signed_in)
    monkeypatch.setattr(st, "logout", lambda: calls.append("logout"))

    identity.logout()

    assert calls == (["logout"] if provider_signed_in else [])
