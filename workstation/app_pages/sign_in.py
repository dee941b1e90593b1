"""Sign in (shared mode): a local account's name and password, or the identity provider when one
is configured (``st.login``, see the README)."""

from __future__ import annotations

import streamlit as st

from workstation import access, auth, identity, ui

st.title("Sign in")
st.caption("CXR Draft Auditor is running as a shared teaching server: sign in to continue.")
store = ui.store()


def _signed_in(result: auth.SignInResult) -> None:
    if result.account is None:
        st.error(result.message)
        return
    st.session_state[access.SIGNED_IN] = result.account.name
    st.rerun()


with ui.errors_shown():
    if identity.configured() and identity.logged_in():
        _signed_in(auth.sign_in_with_identity_provider(store, identity.email()))
    with st.form("sign_in_form", clear_on_submit=False, enter_to_submit=True):
        name = st.text_input("Name", key="si_name", max_chars=64, autocomplete="username")
        password = st.text_input(
            "Password", key="si_password", type="password", max_chars=auth.MAX_PASSWORD_CHARS
        )
        submitted = st.form_submit_button("Sign in", type="primary", key="si_submit")
    if submitted:
        _signed_in(auth.sign_in(store, name, password, client=identity.client_address()))
    if identity.configured():
        st.button("Sign in with your institution", key="si_oidc", on_click=identity.login)
    st.caption(
        f"Five wrong passwords lock a name for {auth.POLICY.lockout.seconds // 60} minutes. "
        "Accounts are made by an educator with `cxr-audit users add`."
    )
