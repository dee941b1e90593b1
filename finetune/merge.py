"""``train merge``: fold a LoRA adapter into a clean 16-bit base, verify it, and publish it or refuse.

The base is loaded anew in 16 bits (never the 4-bit training model, whose dequantized
weights are not the base's). The merge is published only when all of these hold:

1. every LoRA module: merged − base = B·A·scale within one ulp of the dtype
   (:mod:`finetune.merge_checks`), and every other tensor is bit-identical;
2. the adapter model and the merged model agree on fixed inputs: their logits within
   ``LOGITS_RTOL`` of the largest logit, and the same greedy tokens (a divergence is
   allowed only where the adapter model's two best tokens were within that tolerance);
3. the adapter changed the output at all: the adapter model's logits differ from the
   base's by more than that tolerance.

Logits are compared in fp32 (the 16-bit weights upcast exactly), so that only the
rounding of the merged weights separates the two models. The fixed inputs are two
synthetic phantoms (one normal, one with a pneumothorax) sent with the adapter's own
training prompt, read from its corpus. ``merge_report.json`` holds the verdict and the
numbers; the merged weights are written (with the *base's* processor and chat template)
only after verification passes, and only into an empty folder.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from finetune.errors import FinetuneError, MergeVerificationError
from finetune.merge_checks import LoraUpdate, WeightCheck, check_weights
from finetune.records import TRAIN_FILE
from finetune.run_card import read_run_card
from finetune.train import read_examples
from models.loading import require

MERGE_REPORT_FILE = "merge_report.json"
LOGITS_RTOL = 2.0**-5
GREEDY_TOKENS = 24


class FunctionalCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inputs: int
    logits_tolerance: float
    max_abs_logit_diff_merged_vs_adapter: float
    max_abs_logit_diff_adapter_vs_base: float
    greedy_agree: bool
    greedy_divergence: list[str]
    adapter_changed_output: bool


class MergeReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verified: bool
    failures: list[str]
    base: str
    adapter: str
    out: str | None
    dtype: str
    weights: WeightCheck
    outputs: FunctionalCheck
    seconds: float


def fixed_inputs(adapter: Path) -> list[tuple[Any, list[dict[str, Any]]]]:
    """(image, prompt messages) pairs: two phantoms with the adapter's training prompt."""
    from PIL import Image

    from data.phantoms import PhantomFinding, PhantomSpec, draw_phantom

    card = read_run_card(adapter)
    if card is None:
        raise FinetuneError(f"{adapter} has no run card: merge an adapter made by cxr-audit train fit")
    examples = read_examples(Path(card.corpus), TRAIN_FILE)
    if not examples:
        raise FinetuneError(f"the adapter's corpus {card.corpus} holds no training example")
    prompt = examples[0]["prompt"]
    specs = [
        PhantomSpec(seed=11),
        PhantomSpec(seed=12, findings=(PhantomFinding(label="pneumothorax", side="left", zone="upper"),)),
    ]
    return [(Image.fromarray(draw_phantom(spec).pixels).convert("RGB"), prompt) for spec in specs]


def _encode(processor: Any, image: Any, prompt: list[dict[str, Any]], device: str) -> Any:
    trl = require("trl")
    messages = trl.data_utils.prepare_multimodal_messages(prompt, images=[image])
    inputs = processor.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt"
    )
    return inputs.to(device)


def _outputs(model: Any, encoded: list[Any]) -> list[tuple[Any, list[int], list[float]]]:
    """(last-position logits, greedy tokens, top-2 margin at each greedy step) per input, in fp32."""
    torch = require("torch")
    out = []
    with torch.no_grad():
        for inputs in encoded:
            pixel = {"pixel_values": inputs["pixel_values"].float()} if "pixel_values" in inputs else {}
            logits = model(**{**inputs, **pixel}).logits[0].float().cpu()
            generated = model.generate(
                **{**inputs, **pixel},
                max_new_tokens=GREEDY_TOKENS,
                do_sample=False,
                output_scores=True,
                return_dict_in_generate=True,
            )
            tokens = generated.sequences[0, inputs["input_ids"].shape[1] :].tolist()
            margins = [float(step[0].float().topk(2).values.diff().abs()) for step in generated.scores]
            out.append((logits, tokens, margins))
    return out


def lora_updates(peft_model: Any) -> dict[str, LoraUpdate]:
    """Every LoRA module's A, B and scale, keyed by module name, with the weight it updates."""
    updates: dict[str, LoraUpdate] = {}
    prefix = "base_model.model."
    for name, module in peft_model.named_modules():
        lora_a = getattr(module, "lora_A", None)
        if not lora_a or "default" not in lora_a:
            continue
        key = (name[len(prefix) :] if name.startswith(prefix) else name) + ".weight"
        updates[name] = LoraUpdate(
            weight_key=key,
            lora_a=module.lora_A["default"].weight.detach().float().cpu(),
            lora_b=module.lora_B["default"].weight.detach().float().cpu(),
            scale=float(module.scaling["default"]),
        )
    return updates


def merge_weights(peft_model: Any) -> Any:
    """Fold the adapter into the 16-bit weights (peft); tests replace this to break a merge."""
    return peft_model.merge_and_unload()


def _functional(base: list[Any], adapter: list[Any], merged: list[Any]) -> FunctionalCheck:
    scale = max(float(logits.abs().max()) for logits, _, _ in adapter)
    tolerance = LOGITS_RTOL * scale
    merged_diff = max(float((m[0] - a[0]).abs().max()) for m, a in zip(merged, adapter, strict=True))
    change = max(float((a[0] - b[0]).abs().max()) for a, b in zip(adapter, base, strict=True))
    divergence: list[str] = []
    agree = True
    for index, ((_, tokens_a, margins), (_, tokens_m, _)) in enumerate(zip(adapter, merged, strict=True)):
        if tokens_a == tokens_m:
            continue
        step = next(
            (i for i, (x, y) in enumerate(zip(tokens_a, tokens_m, strict=False)) if x != y),
            min(len(tokens_a), len(tokens_m)),
        )
        margin = margins[step] if step < len(margins) else float("inf")
        tie = margin <= tolerance
        agree = agree and tie
        divergence.append(
            f"input {index}: greedy tokens part at step {step}, where the adapter model's two best "
            f"logits were {margin:.4g} apart ({'a tie within' if tie else 'more than'} the tolerance)"
        )
    return FunctionalCheck(
        inputs=len(adapter),
        logits_tolerance=tolerance,
        max_abs_logit_diff_merged_vs_adapter=merged_diff,
        max_abs_logit_diff_adapter_vs_base=change,
        greedy_agree=agree,
        greedy_divergence=divergence,
        adapter_changed_output=change > tolerance,
    )


def _failures(weights: WeightCheck, outputs: FunctionalCheck) -> list[str]:
    failures = []
    if weights.modules_off:
        failures.append(
            f"{len(weights.modules_off)} LoRA module(s) differ from base + B·A·scale by more than one ulp "
            f"(worst {weights.max_error_ulps:.3g} ulp in {weights.worst_module})"
        )
    if weights.other_tensors_changed:
        failures.append(f"{len(weights.other_tensors_changed)} tensor(s) outside the LoRA modules changed")
    if weights.missing_or_extra:
        failures.append(f"the merged model lacks or adds tensors: {', '.join(weights.missing_or_extra[:5])}")
    if outputs.max_abs_logit_diff_merged_vs_adapter > outputs.logits_tolerance:
        failures.append(
            f"merged and adapter logits differ by {outputs.max_abs_logit_diff_merged_vs_adapter:.4g} "
            f"(tolerance {outputs.logits_tolerance:.4g})"
        )
    if not outputs.greedy_agree:
        failures.append("merged and adapter models generate different greedy tokens")
    if not outputs.adapter_changed_output:
        failures.append(
            f"the adapter changes the base's logits by only {outputs.max_abs_logit_diff_adapter_vs_base:.4g} "
            f"(tolerance {outputs.logits_tolerance:.4g}): it learnt nothing that survives the merge"
        )
    return failures


def merge(base: str, adapter: Path, out: Path) -> MergeReport:
    """Merge, verify, and write ``out`` (weights only when verified); raises when verification fails."""
    if out.is_dir() and any(item.name != MERGE_REPORT_FILE for item in out.iterdir()):
        # A failed merge must not leave an earlier model beside a report that refuses this one.
        raise FinetuneError(f"{out} is not empty; merge into a new folder")
    torch, transformers, peft = require("torch"), require("transformers"), require("peft")
    started = time.perf_counter()
    device = "cuda:0" if torch.cuda.is_available() else "cpu"
    inputs = fixed_inputs(adapter)
    try:
        processor = transformers.AutoProcessor.from_pretrained(base)
        model = transformers.AutoModelForImageTextToText.from_pretrained(
            base, dtype=torch.bfloat16, device_map={"": device}
        ).eval()
    except (OSError, ValueError) as error:
        raise FinetuneError(f"cannot load the base model {base}: {' '.join(str(error).split())}") from None
    dtype = next(model.parameters()).dtype
    base_state = {key: value.detach().to("cpu", copy=True) for key, value in model.state_dict().items()}
    encoded = [_encode(processor, image, prompt, device) for image, prompt in inputs]
    model.float()
    base_out = _outputs(model, encoded)
    try:
        adapted = peft.PeftModel.from_pretrained(model, str(adapter)).eval()
    except (OSError, ValueError) as error:
        raise FinetuneError(f"cannot load the adapter {adapter}: {' '.join(str(error).split())}") from None
    adapter_out = _outputs(adapted, encoded)
    updates = lora_updates(adapted)
    adapted.to(dtype)
    merged = merge_weights(adapted)
    weights = check_weights(base_state, merged.state_dict(), updates, dtype)
    merged.float()
    merged_out = _outputs(merged, encoded)
    merged.to(dtype)
    outputs = _functional(base_out, adapter_out, merged_out)
    failures = _failures(weights, outputs)
    report = MergeReport(
        verified=not failures,
        failures=failures,
        base=base,
        adapter=str(adapter),
        out=str(out) if not failures else None,
        dtype=str(dtype).removeprefix("torch."),
        weights=weights,
        outputs=outputs,
        seconds=round(time.perf_counter() - started, 3),
    )
    out.mkdir(parents=True, exist_ok=True)
    if not failures:
        staging = out.with_name(out.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        merged.save_pretrained(str(staging))
        processor.save_pretrained(str(staging))  # the base's processor and chat template
        for item in staging.iterdir():
            target = out / item.name
            if target.is_dir():
                shutil.rmtree(target)
            item.replace(target)
        staging.rmdir()
    (out / MERGE_REPORT_FILE).write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    if failures:
        raise MergeVerificationError(
            f"the merge failed verification and was not published ({'; '.join(failures)}); "
            f"see {out / MERGE_REPORT_FILE}"
        )
    return report


def read_merge_report(folder: Path) -> MergeReport | None:
    path = folder / MERGE_REPORT_FILE
    if not path.is_file():
        return None
    return MergeReport.model_validate(json.loads(path.read_text(encoding="utf-8")))
