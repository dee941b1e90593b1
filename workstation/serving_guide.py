"""How to run the real checkpoints, as steps with copyable commands: the Models page shows them,
and README.md carries the same commands (a test holds the two together).

The memory figures are the loading code's own estimates from the published configs (a test
recomputes them), weights plus working memory for one audit.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.checkpoints import PROFILES


@dataclass(frozen=True)
class Step:
    title: str
    text: str  # plain text: shown as text, never as Markdown from elsewhere
    command: str
    language: str = "bash"


# (backend, precision) -> GiB with working memory, from models.memory.estimate (published configs).
VRAM_GIB: dict[tuple[str, str], float] = {
    ("medgemma", "nf4"): 4.7,
    ("nemotron", "nf4"): 4.1,
    ("medgemma", "bf16"): 9.6,
    ("nemotron", "bf16"): 8.9,
}


def vram_line() -> str:
    nf4 = VRAM_GIB[("medgemma", "nf4")] + VRAM_GIB[("nemotron", "nf4")]
    bf16 = VRAM_GIB[("medgemma", "bf16")] + VRAM_GIB[("nemotron", "bf16")]
    return (
        f"VRAM, estimated with working memory for one audit: MedGemma {VRAM_GIB[('medgemma', 'nf4')]} GiB "
        f"and Nemotron {VRAM_GIB[('nemotron', 'nf4')]} GiB in nf4 (the vision tower, projector and output "
        f"head stay in 16 bits), {nf4:.1f} GiB together: a 12 GB card. In bf16 "
        f"{VRAM_GIB[('medgemma', 'bf16')]} + {VRAM_GIB[('nemotron', 'bf16')]} = {bf16:.1f} GiB: a 24 GB card."
    )


def profile_lines() -> list[str]:
    return [f"{name}: {profile.title} ({', '.join(profile.model_ids)})" for name, profile in PROFILES.items()]


STEPS: tuple[Step, ...] = (
    Step(
        "1. Sign in to the Hugging Face hub and download the weights",
        "The default grounder is the published fine-tune alex-feeel/medgemma-cxr-auditor-v2 (profile "
        "medgemma-cxr-auditor-v2); the parser is nvidia/NVIDIA-Nemotron-3-Nano-4B-BF16 (profile "
        "nemotron-3-nano). Base MedGemma needs its licence accepted on its hub page first. A downloaded "
        "folder works wherever a model id does (--model, or a local weights folder on the Models page).",
        'pip install -U "huggingface_hub[cli]"\n'
        "hf auth login\n"
        "hf download alex-feeel/medgemma-cxr-auditor-v2 --local-dir ~/models/medgemma-cxr-auditor-v2\n"
        "hf download nvidia/NVIDIA-Nemotron-3-Nano-4B-BF16 --local-dir ~/models/nemotron-3-nano-4b",
    ),
    Step(
        "2. On this machine's NVIDIA GPU (transformers, 4-bit)",
        "Both models load once per process in nf4. A local folder is called as the default profile of "
        "its backend; name another with --profile (e.g. medgemma-base for google/medgemma-1.5-4b-it). "
        "Nemotron thinks by default (enable_thinking = false turns it off). Its Mamba-2 layers run far "
        "faster with the CUDA kernels of mamba_ssm and causal_conv1d, which build against your torch.",
        "pip install --no-build-isolation mamba_ssm causal_conv1d\n"
        "cxr-audit audit --image chest.dcm --grounder medgemma --model ~/models/medgemma-cxr-auditor-v2 "
        '--parser nemotron --parser-model ~/models/nemotron-3-nano-4b --draft "No pneumothorax."',
    ),
    Step(
        "3. On a GPU server with vLLM (many reviewers, evaluations, several GPUs)",
        "One server per model; the auditor sends each model its checkpoint's own chat, up to "
        "--concurrency requests at once, and vLLM batches them. No reasoning parser is needed: the "
        "auditor asks for the think tags (skip_special_tokens false) and strips the trace itself; a "
        "server that returns the trace apart is read as well. Add --tensor-parallel-size N for more GPUs.",
        "vllm serve alex-feeel/medgemma-cxr-auditor-v2 --port 8000 --max-model-len 8192 "
        "--limit-mm-per-prompt '{\"image\": 1}'\n"
        "vllm serve nvidia/NVIDIA-Nemotron-3-Nano-4B-BF16 --port 8001 --trust-remote-code "
        "--mamba-ssm-cache-dtype float32 --max-model-len 8192\n"
        "cxr-audit eval --grounder openai --endpoint http://gpu-server:8000/v1 --parser openai "
        "--parser-endpoint http://gpu-server:8001/v1 --concurrency 8 --out runs/vllm",
    ),
    Step(
        "4. On a laptop without an NVIDIA GPU (llama.cpp)",
        "Convert the fine-tune to GGUF with llama.cpp: the language model quantized to Q8_0 and the "
        "vision projector kept at F16 (boxes depend on its precision), then serve both files. Check the "
        "boxes against the GPU model on a few cases before trusting a quantized build.",
        "python convert_hf_to_gguf.py ~/models/medgemma-cxr-auditor-v2 --outfile medgemma-cxr-f16.gguf "
        "--outtype f16\n"
        "python convert_hf_to_gguf.py ~/models/medgemma-cxr-auditor-v2 --mmproj "
        "--outfile mmproj-medgemma-cxr-f16.gguf\n"
        "llama-quantize medgemma-cxr-f16.gguf medgemma-cxr-q8_0.gguf Q8_0\n"
        "llama-server -m medgemma-cxr-q8_0.gguf --mmproj mmproj-medgemma-cxr-f16.gguf --host 127.0.0.1 "
        "--port 8080\n"
        "cxr-audit audit --image chest.png --grounder openai --endpoint http://127.0.0.1:8080/v1 "
        '--draft "No pneumothorax."',
    ),
    Step(
        "5. Or with Ollama",
        "Ollama takes the same two GGUF files, the model then the projector. Its names carry a tag "
        "(medgemma-cxr:latest); --model medgemma-cxr matches it. If answers ignore the image, your "
        "Ollama version dropped the separate projector: use llama-server instead.",
        "printf 'FROM ./medgemma-cxr-q8_0.gguf\\nFROM ./mmproj-medgemma-cxr-f16.gguf\\n' > Modelfile\n"
        "ollama create medgemma-cxr -f Modelfile\n"
        "cxr-audit audit --image chest.png --grounder openai --endpoint http://127.0.0.1:11434/v1 "
        '--model medgemma-cxr --draft "No pneumothorax."',
    ),
    Step(
        "6. Keep the endpoints in the settings file",
        "The grounder and the parser each have their own table, so each can live on its own server; "
        "the workstation reads the same file (~/.config/cxr-audit/config.toml, or $CXR_AUDIT_CONFIG).",
        "[backends.openai-grounder]\n"
        'endpoint_url = "http://gpu-server:8000/v1"\n'
        "concurrency = 8\n"
        "\n"
        "[backends.openai-parser]\n"
        'endpoint_url = "http://gpu-server:8001/v1"\n'
        'model_id = "nvidia/NVIDIA-Nemotron-3-Nano-4B-BF16"',
        language="toml",
    ),
)
