"""Random-weight stand-ins for the real models: for tests and the GPU bench, never for audits.

Processors and tokenizers here are byte-level BPE with byte fallback (any text encodes;
random weights decode to garbage), with the special tokens and chat templates the real
backends rely on: Gemma 3's image tokens and turn markers, Nemotron's ``<think>`` tags and
``enable_thinking`` switch. Models are built from a config with random weights and saved
with ``save_pretrained``, so the real loading code reads them like downloaded weights.
transformers and torch are imported inside the functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# A Gemma-3-style chat template, cut down: a system turn is folded into the first user
# turn, an image part becomes the processor's boi token (expanded to the image tokens).
GEMMA3_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- set ns = namespace(system='') -%}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}"
    "{%- if message['content'] is string -%}{%- set ns.system = message['content'] + '\n\n' -%}"
    "{%- else -%}{%- set ns.system = message['content'][0]['text'] + '\n\n' -%}{%- endif -%}"
    "{%- else -%}"
    "{{ '<start_of_turn>' + ('model' if message['role'] == 'assistant' else message['role']) + '\n' }}"
    "{%- if message['role'] == 'user' -%}{{ ns.system }}{%- set ns.system = '' -%}{%- endif -%}"
    "{%- if message['content'] is string -%}{{ message['content'] }}"
    "{%- else -%}{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'image' -%}{{ '<start_of_image>' }}"
    "{%- elif item['type'] == 'text' -%}{{ item['text'] }}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
    "{{ '<end_of_turn>\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}"
)

# A Nemotron-style template: the system turn, then user/assistant turns; with
# ``enable_thinking`` false the assistant turn opens with an empty think block.
NEMOTRON_CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{ '<|im_start|>assistant\n' }}"
    "{%- if enable_thinking is defined and not enable_thinking -%}{{ '<think></think>' }}"
    "{%- else -%}{{ '<think>\n' }}{%- endif -%}"
    "{%- endif -%}"
)

GEMMA_SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<start_of_turn>", "<end_of_turn>"]
GEMMA_IMAGE_TOKENS = ["<start_of_image>", "<end_of_image>", "<image_soft_token>"]
NEMOTRON_SPECIALS = ["<unk>", "<s>", "</s>", "<pad>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]


def byte_vocab(specials: list[str], multiple: int = 64) -> dict[str, int]:
    """Special tokens, the 256 byte-fallback tokens and a few characters, padded to ``multiple``."""
    vocab = {token: index for index, token in enumerate(specials)}
    for byte in range(256):
        vocab[f"<0x{byte:02X}>"] = len(vocab)
    for char in '▁abcdefghijklmnopqrstuvwxyz{}[]":,.0123456789_':
        if char not in vocab:
            vocab[char] = len(vocab)
    while len(vocab) % multiple:
        vocab[f"<extra_{len(vocab)}>"] = len(vocab)
    return vocab


def gemma3_processor(image_size: int, image_tokens: int) -> Any:
    """A Gemma3Processor: tiny tokenizer with the image tokens, the PIL image processor, a chat template.

    ``Gemma3ImageProcessorPil`` is used because the torchvision-backed processor needs
    torchvision, which is not installed beside the CPU torch build.
    """
    from transformers import Gemma3ImageProcessorPil, Gemma3Processor, GemmaTokenizer

    vocab = byte_vocab(GEMMA_SPECIALS + GEMMA_IMAGE_TOKENS)
    tokenizer = GemmaTokenizer(
        vocab=vocab,
        extra_special_tokens={
            "boi_token": "<start_of_image>",
            "eoi_token": "<end_of_image>",
            "image_token": "<image_soft_token>",
        },
    )
    tokenizer.add_special_tokens({"extra_special_tokens": ["<start_of_turn>", "<end_of_turn>"]})
    image_processor = Gemma3ImageProcessorPil(
        size={"height": image_size, "width": image_size}, do_pan_and_scan=False
    )
    return Gemma3Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        chat_template=GEMMA3_CHAT_TEMPLATE,
        image_seq_length=image_tokens,
    )


def nemotron_tokenizer() -> Any:
    """A fast tokenizer with Nemotron's turn markers, think tags and thinking chat template."""
    from tokenizers import Tokenizer, decoders, models, normalizers
    from transformers import PreTrainedTokenizerFast

    vocab = byte_vocab(NEMOTRON_SPECIALS)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>", byte_fallback=True))
    backend.normalizer = normalizers.Replace(" ", "▁")
    backend.decoder = decoders.Sequence(
        [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="<|im_end|>",
        unk_token="<unk>",
        pad_token="<pad>",
        extra_special_tokens=["<|im_start|>", "</s>", "<think>", "</think>"],
        chat_template=NEMOTRON_CHAT_TEMPLATE,
    )


def save_random_model(
    config: Any,
    model_class: str,
    folder: Path,
    preprocessor: Any,
    dtype: str = "float32",
    device: str = "cpu",
) -> Path:
    """Build ``model_class`` from ``config`` with seeded random weights and save it with ``preprocessor``."""
    import torch
    import transformers

    cls = getattr(transformers, model_class)
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(0)
    try:
        with torch.device(device):
            model = cls._from_config(config, dtype=getattr(torch, dtype)).eval()
    finally:
        torch.random.set_rng_state(generator_state)
    tokenizer = getattr(preprocessor, "tokenizer", preprocessor)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    preprocessor.save_pretrained(folder)
    return folder


TINY_IMAGE_SIZE = 64  # pixels; patch 16 → 4 × 4 patches, pooled to 2 × 2 = 4 image tokens
TINY_IMAGE_TOKENS = 4


def build_tiny_medgemma(folder: Path) -> Path:
    """A tiny ``Gemma3ForConditionalGeneration`` (text + SigLIP vision) with its processor.

    Every linear layer's input and output size is a multiple of 64, so that the bitsandbytes
    nf4 path also runs on CPU (its CPU kernels need multiples of 64 in, and quantized
    outputs in multiples of 32).
    """
    from transformers import Gemma3Config

    processor = gemma3_processor(TINY_IMAGE_SIZE, TINY_IMAGE_TOKENS)
    vocab = processor.tokenizer.get_vocab()
    end_ids = [vocab["<eos>"], vocab["<end_of_turn>"]]
    config = Gemma3Config(
        text_config={
            "vocab_size": len(vocab),
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 1,
            "num_key_value_heads": 1,
            "head_dim": 64,
            "max_position_embeddings": 4096,
            "sliding_window": 64,
            "layer_types": ["sliding_attention", "full_attention"],
        },
        vision_config={
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 1,
            "num_attention_heads": 1,
            "image_size": TINY_IMAGE_SIZE,
            "patch_size": 16,
            "vision_use_head": False,
        },
        mm_tokens_per_image=TINY_IMAGE_TOKENS,
        boi_token_index=vocab["<start_of_image>"],
        eoi_token_index=vocab["<end_of_image>"],
        image_token_index=vocab["<image_soft_token>"],
        pad_token_id=vocab["<pad>"],
        bos_token_id=vocab["<bos>"],
        eos_token_id=end_ids,
    )
    return save_random_model(config, "Gemma3ForConditionalGeneration", folder, processor)


def build_tiny_nemotron(folder: Path) -> Path:
    """A tiny ``NemotronHForCausalLM`` (Mamba-2, MLP and attention layers) with a tokenizer.

    As in the published config, the model's eos is ``</s>``, not the ``<|im_end|>`` that
    ends an assistant turn (the tokenizer's eos), so the stop rule is tested as it matters.

    ``use_mamba_kernels=False`` is not passed: transformers 5.24 deprecates it (no effect) and
    falls back to the PyTorch reference implementation of the Mamba-2 kernels on its own.
    """
    from transformers import NemotronHConfig

    tokenizer = nemotron_tokenizer()
    vocab = tokenizer.get_vocab()
    config = NemotronHConfig(
        vocab_size=len(vocab),
        hidden_size=64,
        hybrid_override_pattern="M-*-",
        num_attention_heads=2,
        num_key_value_heads=2,
        head_dim=32,
        intermediate_size=128,
        mamba_num_heads=32,  # in_proj: 2·128 + 2·16 + 32 = 320 outputs, a multiple of 64
        mamba_head_dim=4,
        n_groups=1,
        ssm_state_size=16,
        conv_kernel=4,
        chunk_size=256,
        max_position_embeddings=4096,
        pad_token_id=vocab["<pad>"],
        bos_token_id=vocab["<s>"],
        eos_token_id=vocab["</s>"],
    )
    return save_random_model(config, "NemotronHForCausalLM", folder, tokenizer)


def build_published_models(folder: Path, device: str = "cuda") -> dict[str, Path]:
    """Random-weight bf16 MedGemma 4B and Nemotron-3 Nano 4B of the published shapes, built on
    ``device`` and saved with stand-in processors (for the GPU bench)."""
    import gc

    import torch

    from models.published_configs import medgemma_4b_config, nemotron_4b_config

    paths: dict[str, Path] = {}
    for name, config, model_class, preprocessor in (
        ("medgemma", medgemma_4b_config(), "Gemma3ForConditionalGeneration", gemma3_processor(896, 256)),
        ("nemotron", nemotron_4b_config(), "NemotronHForCausalLM", nemotron_tokenizer()),
    ):
        paths[name] = save_random_model(
            config, model_class, folder / f"{name}-4b-random", preprocessor, dtype="bfloat16", device=device
        )
        gc.collect()
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
    return paths
