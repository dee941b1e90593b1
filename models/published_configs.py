"""The published architecture shapes of the two 4B models, as transformers configs (no weights).

Used to estimate memory before a download and by ``bench/gpu_models.py`` to build
same-shape random-weight models on a GPU. MedGemma 4B is Gemma 3 4B (text and SigLIP
shapes from its model card). For Nemotron-3 Nano 4B the issue gives the layer pattern and
attention/MLP shapes; the Mamba-2 shapes (96 heads of 80, 8 groups, state 128) are those of
Nemotron Nano 9B v2, from which the 4B was compressed, with the head count that gives the
published 3.97 B parameters. transformers is imported when a config is built.
"""

from __future__ import annotations

from typing import Any

NEMOTRON_4B_PATTERN = "M-M-M-MM-M-M*-M-M*-M-M-M*-M-M-MM*-MMM-M-M-"  # 42 layers: 21 M, 4 *, 17 -

MEDGEMMA_4B: dict[str, Any] = {
    "text_config": {
        "vocab_size": 262_208,
        "hidden_size": 2560,
        "intermediate_size": 10_240,
        "num_hidden_layers": 34,
        "num_attention_heads": 8,
        "num_key_value_heads": 4,
        "head_dim": 256,
        "sliding_window": 1024,
        "query_pre_attn_scalar": 256,
        "max_position_embeddings": 131_072,
    },
    "vision_config": {
        "hidden_size": 1152,
        "intermediate_size": 4304,
        "num_hidden_layers": 27,
        "num_attention_heads": 16,
        "image_size": 896,
        "patch_size": 14,
        "vision_use_head": False,
    },
    "mm_tokens_per_image": 256,
    "boi_token_index": 255_999,
    "eoi_token_index": 256_000,
    "image_token_index": 262_144,
}

NEMOTRON_4B: dict[str, Any] = {
    "vocab_size": 131_072,
    "hidden_size": 3136,
    "hybrid_override_pattern": NEMOTRON_4B_PATTERN,
    "intermediate_size": 12_544,
    "num_attention_heads": 40,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "mamba_num_heads": 96,
    "mamba_head_dim": 80,
    "n_groups": 8,
    "ssm_state_size": 128,
    "conv_kernel": 4,
    "max_position_embeddings": 262_144,
}


def medgemma_4b_config() -> Any:
    from transformers import Gemma3Config

    return Gemma3Config(**MEDGEMMA_4B)


def nemotron_4b_config() -> Any:
    from transformers import NemotronHConfig

    return NemotronHConfig(**NEMOTRON_4B)
