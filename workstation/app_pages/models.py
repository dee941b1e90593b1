"""Models: which backends can run on this machine, what each needs, and a test button."""

from __future__ import annotations

import streamlit as st

from models.availability import gpu_status
from workstation import model_status, services, ui
from workstation.messages import HANDLED

GPU_KEY = "md_gpu"

st.title("Models")
st.caption(
    "The CPU defaults (reference grounder, rules parser) need nothing else. Model-backed backends load once "
    "per process, when first used, and stay loaded."
)
ui.disclaimer_banner()

with ui.errors_shown():
    if st.button(
        "Check torch and the GPU", key="md_check_gpu", help="imports torch, which takes a few seconds"
    ):
        with st.spinner("Importing torch…"):
            st.session_state[GPU_KEY] = gpu_status()
    gpu = st.session_state.get(GPU_KEY)
    if gpu is None:
        st.info("torch and the GPU have not been checked yet (the app does not import torch until asked).")
    else:
        st.write(f"**GPU:** {gpu.describe()}")

    found = model_status.statuses(gpu)
    st.dataframe(model_status.status_rows(found), key="md_table", hide_index=True, width="stretch")
    for line in model_status.needs_lines(found):
        st.markdown(f"- {line}")

    st.subheader("Test a backend")
    options = [f"{item.kind}: {item.name}" for item in found]
    choice = st.selectbox("Backend", options, key="md_choice")
    if st.button("Test", key="md_test", type="primary"):
        kind, _, name = choice.partition(": ")
        with st.status(f"Testing the {name} {kind}…", expanded=True) as status:
            try:
                if kind == "parser":
                    result = model_status.smoke_parser(ui.load_parser(name))
                else:
                    store = ui.store()
                    case_id = services.first_case(store)
                    if case_id is None:
                        raise ValueError("the worklist is empty: there is no case to ground")
                    result = model_status.smoke_grounder(ui.load_grounder(name), store.audit_case(case_id))
            except HANDLED as error:
                status.update(label=f"{name} cannot run here", state="error")
                ui.show_error(error)
            except ValueError as error:
                status.update(label=f"{name} was not tested", state="error")
                st.error(str(error))
            else:
                status.update(
                    label=f"{name}: {'ok' if result.ok else 'failed'} in {result.seconds:.2f} s",
                    state="complete" if result.ok else "error",
                )
                st.write(result.summary)
