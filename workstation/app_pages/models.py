"""Models: which backends can run here, what each needs, a test button, the local weights
folders, and how to run the real checkpoints (the same steps as README.md, copyable)."""

from __future__ import annotations

import streamlit as st

from models.availability import gpu_status
from workstation import model_status, services, serving_guide, ui
from workstation.messages import HANDLED
from workstation.text import md

GPU_KEY = "md_gpu"


def local_weights_forms() -> None:
    """A form per model backend: its weights folder and checkpoint profile, saved to the settings file."""
    st.caption(
        "A folder of downloaded weights for a model backend, kept in your settings file (which is "
        "rewritten: comments in it are not kept, the previous file stays beside it as .bak). "
        "Leave the folder empty to go back to the hub model."
    )
    for item in model_status.local_weights():
        with st.form(key=f"md_weights_{item.name}", border=True):
            st.markdown(f"**{item.name}** ({item.kind})")
            folder = st.text_input(
                "Weights folder", value=item.folder, placeholder=item.model_id, key=f"md_path_{item.name}"
            )
            options = [model_status.AUTOMATIC, *item.profiles]
            chosen = st.selectbox(
                "Checkpoint profile",
                options,
                index=options.index(item.profile) if item.profile in options else 0,
                key=f"md_profile_{item.name}",
            )
            if st.form_submit_button("Save", type="secondary"):
                try:
                    profile = None if chosen == model_status.AUTOMATIC else chosen
                    message = model_status.save_local_weights(item.kind, item.name, folder, profile)
                except HANDLED as error:
                    ui.show_error(error)
                except ValueError as error:
                    st.error(md(error))
                else:
                    ui.load_grounder.clear()
                    ui.load_parser.clear()
                    st.success(md(message))


st.title("Models")
st.caption(
    "The CPU defaults (reference grounder, rules parser) need nothing else. Model-backed backends load once "
    "per process, when first used, and stay loaded."
)
ui.disclaimer_banner()
viewer = ui.guard("models")
# The server's folders and its settings file are the operator's: on a shared server only an educator
# sees the paths and sets local weights.
administers = not viewer.shared or viewer.is_educator

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
    st.dataframe(
        model_status.status_rows(found, show_paths=administers),
        key="md_table",
        hide_index=True,
        width="stretch",
    )
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
                    result = model_status.smoke_grounder(
                        ui.load_grounder(name), store.cases.audit_case(case_id)
                    )
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
                st.markdown(md(result.summary))

    st.subheader("Local weights")
    if administers:
        local_weights_forms()
    else:
        st.caption("On a shared server an educator sets the local weights folders.")

    st.subheader("Run the real checkpoints")
    st.text(serving_guide.vram_line())
    st.text("Profiles:\n" + "\n".join(serving_guide.profile_lines()))
    for step in serving_guide.STEPS:
        st.markdown(f"**{step.title}**")
        st.text(step.text)
        st.code(step.command, language=step.language, wrap_lines=True)
