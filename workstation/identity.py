"""The optional identity provider (OIDC through Streamlit's ``st.login``, which needs Authlib) and
the client's address, for the sign-in page.

``st.login`` is offered only when ``.streamlit/secrets.toml`` has an ``[auth]`` section
and Authlib is installed; the provider's e-mail must name an active account (added with
``cxr-audit users add EMAIL --role … --no-password``).
"""

from __future__ import annotations

from importlib.util import find_spec

import streamlit as st


def configured() -> bool:
    if find_spec("authlib") is None:
        return False
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError):  # no secrets file (StreamlitSecretNotFoundError) or no [auth]
        return False


def logged_in() -> bool:
    return bool(getattr(st.user, "is_logged_in", False))


def email() -> str | None:
    value = st.user.get("email") if logged_in() else None
    return str(value) if value else None


def login() -> None:
    st.login()


def logout() -> None:
    """Forget the provider's sign-in cookie too; otherwise the sign-in page would sign the same
    person straight back in."""
    if logged_in():
        st.logout()


def client_address() -> str | None:
    """The browser's address as Streamlit saw it (None behind some proxies): the rate limit's key."""
    value = getattr(st.context, "ip_address", None)
    return value if isinstance(value, str) else None
