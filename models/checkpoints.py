"""How each supported checkpoint must be called: one frozen profile per checkpoint.

A checkpoint's calling convention is part of its interface, as much as its weights: the
chat layout (a system turn or not, the image before or after the text), the prompt, the
label names it speaks and how they map onto ours, the scale and reference frame of its
boxes, whether the image is padded, how large an image it takes, which tokens end its
answer, and how its thinking is switched. Calling a prompt-sensitive fine-tune any other
way degrades it silently, so every backend builds its chat from the profile here, and
``finetune/`` builds its training corpus from the same functions.

Profiles:

- ``medgemma-cxr-auditor-v2`` (the default grounder) and ``medgemma-cxr-auditor-v1``:
  the published fine-tunes of MedGemma 1.5 4B. Trained on one user turn, the image first,
  then the pinned prompt below; no system turn, images never padded, boxes
  ``[y0, x0, y1, x1]`` normalized to 0–1 of the original height and width, the label
  ``lung_opacity_consolidation``.
- ``medgemma-base``: ``google/medgemma-1.5-4b-it`` / ``google/medgemma-4b-it`` with our own
  prompt (:mod:`models.prompts`), a system turn, and the image padded to a square
  (Google's localisation recipe).
- ``nemotron-3-nano``: ``nvidia/NVIDIA-Nemotron-3-Nano-4B-BF16`` parsing drafts with our
  prompt; stops on ``<|im_end|>`` (its generation config's eos is another token), thinks
  by default (the chat template's ``enable_thinking``).
- ``medgemma-report``: base MedGemma 4B writing a free-text report with our prompt
  (:mod:`models.prompts`): a system turn, the image first, unpadded (no boxes to map back).

Nothing here imports more than pydantic and :mod:`audit`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from audit.boxes import to_box_2d
from audit.labels import LABELS, Label
from audit.schema import Box
from models.errors import UnknownProfileError
from models.prompts import (
    GROUNDING_INSTRUCTION,
    GROUNDING_SYSTEM,
    PARSING_INSTRUCTION,
    PARSING_SYSTEM,
    REPORT_INSTRUCTION,
    REPORT_SYSTEM,
    Message,
)

BoxReference = Literal["original", "padded_square"]  # which image a box's 0–1 refer to
ProfileTask = Literal["grounding", "parsing", "report"]
ThinkingMechanism = Literal["template_kwarg", "system_directive"]

DEFAULT_GROUNDING_PROFILE = "medgemma-cxr-auditor-v2"
DEFAULT_PARSING_PROFILE = "nemotron-3-nano"
DEFAULT_REPORT_PROFILE = "medgemma-report"
# Decimals of box_2d in a training target: a tenth of a pixel on a 1,000 px image.
TARGET_DECIMALS = 4

# The published fine-tune's label vocabulary, in its order: alex-feel/cxr-draft-auditor,
# src/cxr_auditor/findings.py, CANONICAL_FINDINGS (the Finding enum's values).
FINE_TUNE_VOCABULARY: tuple[str, ...] = (
    "pleural_effusion",
    "pneumothorax",
    "lung_opacity_consolidation",
    "nodule_mass",
    "cardiomegaly",
    "no_finding",
)

# The published fine-tune's training prompt, reproduced exactly: alex-feel/cxr-draft-auditor,
# src/cxr_auditor/prompts.py, IMAGE_GROUNDING_PROMPT as rendered by
# build_image_grounding_prompt() (label_list = ", ".join(CANONICAL_FINDINGS), no_finding =
# "no_finding"); sft_dataset.build_sft_record put it, unchanged, after the image in the one
# user turn of every training example, and inference._generate_text sends it the same way.
# Any edit, even of whitespace, changes what the checkpoint sees: do not touch it.
_FINE_TUNE_TEMPLATE = """\
You are a chest X-ray finding extractor for a research quality-assurance tool. \
This is NOT diagnosis and NOT clinical use.

Look at the chest X-ray and report ONLY findings drawn from this fixed label set:
{label_list}

Rules:
- Use ONLY the labels above, spelled exactly as written (lowercase, underscores).
- Return a JSON list. Each element is an object with these keys:
  - "label": one label from the set above.
  - "box_2d": [y0, x0, y1, x1], the bounding box normalized to [0, 1], where
    (y0, x0) is the top-left corner and (y1, x1) is the bottom-right corner.
    y is the vertical axis (top=0, bottom=1); x is the horizontal axis
    (left=0, right=1).
  - "confidence": a number in [0, 1].
  - "evidence": a short phrase describing the visual evidence.
- If a finding is genuinely present but not localizable to a box, set "box_2d" to null.
- If there is no abnormal finding, return a single element with "label": "{no_finding}".
- Output ONLY the JSON list. No prose, no markdown fences, no commentary.

Example output for an image with a left-sided pleural effusion:
[{{"label": "pleural_effusion", "box_2d": [0.62, 0.08, 0.94, 0.40], "confidence": 0.78, "evidence": "blunting and opacity at the left costophrenic angle"}}]

Example output for a normal image:
[{{"label": "{no_finding}", "box_2d": null, "confidence": 0.90, "evidence": "clear lung fields, normal cardiomediastinal silhouette"}}]
"""  # noqa: E501 (the checkpoint's own lines)
FINE_TUNE_PROMPT = _FINE_TUNE_TEMPLATE.format(
    label_list=", ".join(FINE_TUNE_VOCABULARY), no_finding="no_finding"
)

_IDENTITY: dict[str, Label] = {label: label for label in LABELS}


class ThinkingSwitch(BaseModel):
    """How a reasoning model's thinking is turned on or off, and what it does by default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mechanism: ThinkingMechanism = Field(
        description="a chat-template argument, or a directive at the end of the system turn"
    )
    default: bool = Field(description="whether the checkpoint thinks unless told otherwise")
    template_kwarg: str = "enable_thinking"
    on_directive: str = "/think"
    off_directive: str = "/no_think"
    budget_tokens: int = Field(gt=0, description="the token budget of one thinking generation")

    def directive(self, enabled: bool) -> str:
        return self.on_directive if enabled else self.off_directive


class _Profile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="the profile's name, recorded with every run")
    title: str = Field(description="one line for people")
    model_ids: tuple[str, ...] = Field(min_length=1, description="checkpoints this profile describes")
    source: str = Field(description="where the calling convention comes from")
    system_prompt: str | None = Field(description="the system turn's text; None: no system turn")
    prompt: str = Field(description="the user turn's text (for parsing, the instruction before the draft)")
    vocabulary: tuple[str, ...] = Field(min_length=1, description="label names the checkpoint speaks")
    label_map: Mapping[str, Label] = Field(description="checkpoint label name -> our label")
    stop_tokens: tuple[str, ...] = Field(description="tokens that end an answer, beside the eos ids")
    max_new_tokens: int = Field(gt=0, description="token budget of one generation (thinking off)")
    corrective_retries: bool = Field(
        description="a retry may add the unreadable answer and a correction as further turns; "
        "False: the checkpoint was trained on one turn, so retries resend its chat unchanged"
    )

    @model_validator(mode="after")
    def _vocabulary_is_mapped(self) -> _Profile:
        if set(self.vocabulary) != set(self.label_map):
            raise ValueError(f"{self.name}: the label map must cover exactly the vocabulary")
        if set(self.label_map.values()) != set(LABELS):
            raise ValueError(f"{self.name}: the vocabulary must name each of our labels")
        return self

    def our_label(self, name: str) -> Label | None:
        """Our label for one of the checkpoint's label names, or None if it is not one of them."""
        return self.label_map.get(name)

    def vocabulary_label(self, label: Label) -> str:
        """The checkpoint's name for one of our labels."""
        return next(name for name in self.vocabulary if self.label_map[name] == label)

    def renamed_labels(self) -> dict[str, Label]:
        """The checkpoint's label names that differ from ours (read without counting a repair)."""
        return {name: label for name, label in self.label_map.items() if name != label}


class _ImageProfile(_Profile):
    """What the checkpoints that look at an image share: where the image goes, and its size."""

    image_first: bool = Field(description="the image part comes before the text in the user turn")
    max_image_side: int = Field(gt=0, description="longer side, in pixels, of the image sent (no upscaling)")

    def user_turn(self, image: Any = None) -> Message:
        """The one user turn: the image part and the prompt, in the checkpoint's order.

        Without ``image`` the image part is a placeholder (a training corpus, an endpoint's
        data URL); with a PIL image it rides in the part, as transformers processors take it.
        """
        image_part: dict[str, Any] = {"type": "image"} if image is None else {"type": "image", "image": image}
        text_part = {"type": "text", "text": self.prompt}
        return {
            "role": "user",
            "content": [image_part, text_part] if self.image_first else [text_part, image_part],
        }

    def messages(self, image: Any = None) -> list[Message]:
        """The whole chat for one image: a system turn only if the checkpoint takes one."""
        if self.system_prompt is None:
            return [self.user_turn(image)]
        system = {"role": "system", "content": [{"type": "text", "text": self.system_prompt}]}
        return [system, self.user_turn(image)]

    def input_size(self, width: int, height: int) -> tuple[int, int]:
        """The size an image is sent at: its aspect ratio, longer side at most ``max_image_side``."""
        longer = max(width, height)
        if longer <= self.max_image_side:
            return width, height
        scale = self.max_image_side / longer
        return max(1, round(width * scale)), max(1, round(height * scale))


class GroundingProfile(_ImageProfile):
    """How an image-text-to-text checkpoint is asked for findings with boxes."""

    task: Literal["grounding"] = "grounding"
    box_scale: Literal["unit", "per_mille"] = Field(description="the scale the checkpoint writes box_2d in")
    box_reference: BoxReference = Field(description="the image whose height and width boxes are fractions of")
    pad_to_square: bool = Field(description="pad the image to a square (black, centred) before sending it")
    model_image_size: int = Field(gt=0, description="the square the processor resizes every image to")

    @model_validator(mode="after")
    def _padding_and_reference_agree(self) -> GroundingProfile:
        if self.pad_to_square != (self.box_reference == "padded_square"):
            raise ValueError(
                f"{self.name}: boxes refer to the padded square exactly when the image is padded"
            )
        return self

    def answer_text(self, findings: Sequence[tuple[Label, Box | None]]) -> str:
        """The answer the checkpoint is to write for ``findings``: a training target.

        ``[{"label", "box_2d"}]`` in the checkpoint's vocabulary and box scale, boxes as
        fractions of the image the boxes refer to (the caller maps them there first when
        the profile pads); no findings give the single ``no_finding`` element.
        """
        elements = [
            {
                "label": self.vocabulary_label(label),
                "box_2d": None
                if box is None
                else [round(value, TARGET_DECIMALS) for value in to_box_2d(box, self.box_scale)],
            }
            for label, box in findings
        ]
        if not elements:
            elements = [{"label": self.vocabulary_label("no_finding"), "box_2d": None}]
        return json.dumps(elements, ensure_ascii=False)

    def training_messages(self, findings: Sequence[tuple[Label, Box | None]]) -> list[Message]:
        """One training example's chat: the inference chat (image placeholder) and the answer."""
        answer = {"role": "assistant", "content": [{"type": "text", "text": self.answer_text(findings)}]}
        return [*self.messages(), answer]

    def input_size(self, width: int, height: int) -> tuple[int, int]:
        """As for any image (never enlarged), the padding, if any, first."""
        if self.pad_to_square:
            width = height = max(width, height)
        return super().input_size(width, height)


class ReportProfile(_ImageProfile):
    """How a checkpoint is asked for a free-text report; its vocabulary: the findings asked about."""

    task: Literal["report"] = "report"


class ParsingProfile(_Profile):
    """How a text checkpoint is asked to read a draft into labels, statuses and spans."""

    task: Literal["parsing"] = "parsing"
    thinking: ThinkingSwitch | None = Field(description="None: the checkpoint does not think")

    def messages(self, draft: str, thinking: bool, directive_in_system: bool = False) -> list[Message]:
        """The draft-parsing chat; the draft is wrapped and declared data.

        ``directive_in_system`` ends the system turn with the thinking directive, for chat
        templates that take no thinking argument.
        """
        system = self.system_prompt or ""
        if directive_in_system and self.thinking is not None:
            system = f"{system}\n{self.thinking.directive(thinking)}".lstrip("\n")
        user = {"role": "user", "content": f"{self.prompt}\n\n<draft>\n{draft}\n</draft>"}
        return [{"role": "system", "content": system}, user] if system else [user]

    def thinking_default(self) -> bool:
        return self.thinking is not None and self.thinking.default

    def budget(self, thinking: bool) -> int:
        """The token budget of one generation with thinking on or off."""
        if thinking and self.thinking is not None:
            return self.thinking.budget_tokens
        return self.max_new_tokens


AnyProfile = GroundingProfile | ParsingProfile | ReportProfile
CheckpointProfile = Annotated[AnyProfile, Field(discriminator="task")]
PROFILE_ADAPTER: TypeAdapter[AnyProfile] = TypeAdapter(CheckpointProfile)

_FINE_TUNE_SOURCE = (
    "alex-feel/cxr-draft-auditor: src/cxr_auditor/prompts.py (IMAGE_GROUNDING_PROMPT), "
    "sft_dataset.py (one user turn, image first), inference.py (served the same way), "
    "docs/MODEL_CARD_V2.md (boxes normalized to the original height and width)"
)
_GEMMA_STOPS = ("<end_of_turn>", "<eos>")
_FINE_TUNE_MAP: dict[str, Label] = {
    "pleural_effusion": "pleural_effusion",
    "pneumothorax": "pneumothorax",
    "lung_opacity_consolidation": "lung_opacity",
    "nodule_mass": "nodule_mass",
    "cardiomegaly": "cardiomegaly",
    "no_finding": "no_finding",
}


def _fine_tune(name: str, model_id: str, title: str) -> GroundingProfile:
    return GroundingProfile(
        name=name,
        title=title,
        model_ids=(model_id,),
        source=_FINE_TUNE_SOURCE,
        system_prompt=None,
        prompt=FINE_TUNE_PROMPT,
        image_first=True,
        vocabulary=FINE_TUNE_VOCABULARY,
        label_map=_FINE_TUNE_MAP,
        box_scale="unit",
        box_reference="original",
        pad_to_square=False,
        max_image_side=1024,
        model_image_size=896,
        stop_tokens=_GEMMA_STOPS,
        max_new_tokens=512,  # the seed's DEFAULT_MAX_NEW_TOKENS; answers end at <end_of_turn> first
        corrective_retries=False,
    )


_PROFILES: tuple[AnyProfile, ...] = (
    _fine_tune(
        "medgemma-cxr-auditor-v2",
        "alex-feeel/medgemma-cxr-auditor-v2",
        "Published fine-tune v2 of MedGemma 1.5 4B (the default grounder)",
    ),
    _fine_tune(
        "medgemma-cxr-auditor-v1",
        "alex-feeel/medgemma-cxr-auditor",
        "Published fine-tune v1 of MedGemma 1.5 4B (superseded by v2)",
    ),
    GroundingProfile(
        name="medgemma-base",
        title="Base MedGemma 4B instruct with this project's grounding prompt",
        model_ids=("google/medgemma-1.5-4b-it", "google/medgemma-4b-it"),
        source="models/prompts.py (our wording); Google's MedGemma localisation recipe pads to a square",
        system_prompt=GROUNDING_SYSTEM,
        prompt=GROUNDING_INSTRUCTION,
        image_first=True,
        vocabulary=LABELS,
        label_map=_IDENTITY,
        box_scale="unit",
        box_reference="padded_square",
        pad_to_square=True,
        max_image_side=1024,
        model_image_size=896,
        stop_tokens=_GEMMA_STOPS,
        max_new_tokens=384,
        corrective_retries=True,
    ),
    ParsingProfile(
        name="nemotron-3-nano",
        title="NVIDIA Nemotron-3 Nano 4B reading drafts with this project's parsing prompt",
        model_ids=("nvidia/NVIDIA-Nemotron-3-Nano-4B-BF16",),
        source="models/prompts.py (our wording); the model's chat template (<|im_end|>, enable_thinking)",
        system_prompt=PARSING_SYSTEM,
        prompt=PARSING_INSTRUCTION,
        vocabulary=LABELS,
        label_map=_IDENTITY,
        # The generation config's eos is another token; the answer ends at <|im_end|>.
        stop_tokens=("<|im_end|>",),
        thinking=ThinkingSwitch(mechanism="template_kwarg", default=True, budget_tokens=1024),
        max_new_tokens=384,
        corrective_retries=True,
    ),
    ReportProfile(
        name=DEFAULT_REPORT_PROFILE,
        title="Base MedGemma 4B instruct writing a chest X-ray report with this project's prompt",
        model_ids=("google/medgemma-1.5-4b-it", "google/medgemma-4b-it"),
        source="models/prompts.py (our wording); MedGemma's chat template (system turn, image first)",
        system_prompt=REPORT_SYSTEM,
        prompt=REPORT_INSTRUCTION,
        image_first=True,
        vocabulary=LABELS,
        label_map=_IDENTITY,
        max_image_side=1024,
        stop_tokens=_GEMMA_STOPS,
        max_new_tokens=384,
        corrective_retries=False,  # an empty report is asked again, sampled, not argued with
    ),
)

PROFILES: Mapping[str, AnyProfile] = {profile.name: profile for profile in _PROFILES}


def profile_named(name: str) -> AnyProfile:
    """The profile called ``name``; an unknown name lists the valid ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise UnknownProfileError(name, list(PROFILES)) from None


def grounding_profile(name: str) -> GroundingProfile:
    profile = profile_named(name)
    if not isinstance(profile, GroundingProfile):
        raise UnknownProfileError(name, names("grounding"))
    return profile


def parsing_profile(name: str) -> ParsingProfile:
    profile = profile_named(name)
    if not isinstance(profile, ParsingProfile):
        raise UnknownProfileError(name, names("parsing"))
    return profile


def report_profile(name: str) -> ReportProfile:
    profile = profile_named(name)
    if not isinstance(profile, ReportProfile):
        raise UnknownProfileError(name, names("report"))
    return profile


def names(task: ProfileTask) -> list[str]:
    return [name for name, profile in PROFILES.items() if profile.task == task]


def profile_for_model(model_id: str, task: ProfileTask) -> str | None:
    """The profile whose checkpoints include ``model_id`` (a hub id), or None (e.g. a local folder)."""
    found = (p.name for p in PROFILES.values() if p.task == task and model_id in p.model_ids)
    return next(found, None)


def choose_profile(
    task: ProfileTask, model_id: str, requested: str | None, default: str
) -> tuple[AnyProfile, str | None]:
    """The profile to call ``model_id`` with, and a note when it was assumed.

    A profile named in the settings wins; else the profile whose checkpoints include the
    model id; else (a local folder, a served model name) ``default``, said in the note.
    """
    if requested is not None:
        pick = {"grounding": grounding_profile, "parsing": parsing_profile, "report": report_profile}[task]
        return pick(requested), None
    known = profile_for_model(model_id, task)
    if known is not None:
        return profile_named(known), None
    note = f"{model_id} is called as {default} (its profile is not known); choose another with --profile"
    return profile_named(default), note
