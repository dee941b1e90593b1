"""Tiny random-weight models of the real classes, built from configs and saved to a folder.

They exercise the real loading code, chat templates, processors and ``generate`` on CPU
in seconds. Every linear layer's input and output size is a multiple of 64, so that the
bitsandbytes nf4 path also runs on CPU (its CPU kernels need multiples of 64 in, and
quantized outputs in multiples of 32).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.settings import BackendSettings
from models.synthetic import gemma3_processor, nemotron_tokenizer, save_random_model

TINY_IMAGE_SIZE = 64  # pixels; patch 16 → 4 × 4 patches, pooled to 2 × 2 = 4 image tokens
TINY_IMAGE_TOKENS = 4


def build_tiny_medgemma(folder: Path) -> Path:
    """A tiny ``Gemma3ForConditionalGeneration`` (text + SigLIP vision) with its processor."""
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


def tiny_chest_image(width: int = 96, height: int = 80, seed: int = 0) -> Any:
    """A small grayscale uint8 array shaped like a (non-square) radiograph."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(height, width), dtype=np.uint8)


def cpu_settings(model_dir: Path, **overrides: Any) -> BackendSettings:
    """Settings that load a tiny model on CPU in fp32 with short generations."""
    values: dict[str, Any] = {
        "model_id": str(model_dir),
        "device": "cpu",
        "cpu_quantization": "fp32",
        "max_new_tokens": 24,
        "enable_thinking": False,
        "batch_size": 2,
    }
    values.update(overrides)
    return BackendSettings(**values)
