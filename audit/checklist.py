"""A student's feedback as a per-finding checklist, read off the comparator's flags.

The comparator stays the only judge: each item is what its flags say about one label.
A finding the comparator treats as present (``compare.present_in_image``) is

- ``missed`` when it has a MISSING flag,
- ``wrong_side`` when it has a LATERALITY flag,
- ``found`` otherwise (the draft mentioned it and no flag says it is wrong);

each UNSUPPORTED flag is an ``over_call`` ("not present but reported"). URGENT never
makes an item wrong: it becomes a note on the finding ("can't-miss: you found it").
A flag an educator dismissed (the parser misread the student, say) does not stand: a
dismissed MISSING or LATERALITY leaves the finding ``found``, a dismissed UNSUPPORTED is
no over-call, and the item says an educator overruled the audit.
An audit that is not ``full`` (the impression or the image could not be read) cannot be
scored, and says why.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

from audit.compare import present_in_image
from audit.labels import DISPLAY_NAMES, FINDING_LABELS, Label
from audit.schema import AuditReport, Box, Frozen

Outcome = Literal["found", "missed", "wrong_side", "over_call"]
OUTCOMES: tuple[Outcome, ...] = ("found", "missed", "wrong_side", "over_call")
OUTCOME_NAMES: dict[Outcome, str] = {
    "found": "found",
    "missed": "missed",
    "wrong_side": "wrong side",
    "over_call": "not present but reported",
}


class ChecklistItem(Frozen):
    label: Label
    outcome: Outcome
    boxes: tuple[Box, ...] = ()  # the reference boxes of a present finding
    phrase: str | None = None  # what the impression said about it, verbatim
    hedged: bool = False  # the impression was only uncertain (counted as mentioned)
    urgent: bool = False  # on the urgent list: a can't-miss finding
    flag_positions: tuple[int, ...] = ()  # the report's flags this item was read from
    overruled: bool = False  # an educator dismissed a flag that would have made it wrong

    @property
    def name(self) -> str:
        return DISPLAY_NAMES[self.label]

    @property
    def note(self) -> str | None:
        """The can't-miss note, and a hedge; None when there is nothing to add."""
        parts = []
        if self.urgent:
            parts.append(
                {
                    "found": "can't-miss: you found it",
                    "wrong_side": "can't-miss: you found it, on the wrong side",
                    "missed": "can't-miss finding: it must not be missed",
                }.get(self.outcome, "")
            )
        if self.hedged and self.outcome == "found":
            parts.append("you were only uncertain; a definite call is better when the image is clear")
        if self.overruled:
            parts.append("an educator overruled the audit here")
        text = "; ".join(part for part in parts if part)
        return text or None


class Checklist(Frozen):
    items: tuple[ChecklistItem, ...] = ()
    scored: bool = True
    why_not: str | None = None  # when not scored: why the impression could not be judged

    def count(self, outcome: Outcome) -> int:
        return sum(1 for item in self.items if item.outcome == outcome)

    @property
    def n_findings(self) -> int:
        return sum(1 for item in self.items if item.outcome != "over_call")

    @property
    def score(self) -> str:
        """'2 of 3 findings found, 1 over-call' (wrong sides named when there are any)."""
        if not self.scored:
            return "Not scored: " + (self.why_not or "the audit is incomplete")
        found, n = self.count("found"), self.n_findings
        overs, sides = self.count("over_call"), self.count("wrong_side")
        head = f"{found} of {n} finding{'s' if n != 1 else ''} found" if n else "No finding on the image"
        parts = [head]
        if sides:
            parts.append(f"{sides} on the wrong side")
        parts.append(f"{overs} over-call{'s' if overs != 1 else ''}" if overs else "no over-call")
        return ", ".join(parts)


def checklist(report: AuditReport, dismissed: Collection[int] = ()) -> Checklist:
    """The checklist of one audit of a student's impression (see the module notes); ``dismissed``
    holds the positions, in ``report.flags``, of the flags an educator dismissed."""
    if report.mode != "full" or report.image is None or report.draft is None:
        if report.mode == "image_only":
            error = report.draft.outcome.error if report.draft else None
            why = f"your impression could not be read ({error or 'no reading'})"
        else:
            why = "the reference reading could not be made for this case"
        return Checklist(scored=False, why_not=why)
    present = present_in_image(report.image, report.policy)
    said = {item.label: item for item in report.draft.labels}
    by_label: dict[Label, list[int]] = {}
    for position, flag in enumerate(report.flags):
        by_label.setdefault(flag.label, []).append(position)
    items: list[ChecklistItem] = []
    for label in FINDING_LABELS:
        positions = tuple(by_label.get(label, ()))
        types = {report.flags[i].type for i in positions if i not in dismissed}
        overruled = any(report.flags[i].type != "URGENT" for i in positions if i in dismissed)
        draft_label = said.get(label)
        if label in present:
            outcome: Outcome = (
                "missed" if "MISSING" in types else "wrong_side" if "LATERALITY" in types else "found"
            )
            mentioned = draft_label is not None and outcome != "missed"
            items.append(
                ChecklistItem(
                    label=label,
                    outcome=outcome,
                    boxes=tuple(f.box for f in present[label] if f.box is not None),
                    phrase=draft_label.span if draft_label is not None else None,
                    hedged=mentioned and draft_label is not None and draft_label.status == "uncertain",
                    urgent=any(report.flags[i].type == "URGENT" for i in positions),
                    flag_positions=positions,
                    overruled=overruled,
                )
            )
        elif "UNSUPPORTED" in types:
            items.append(
                ChecklistItem(
                    label=label,
                    outcome="over_call",
                    phrase=draft_label.span if draft_label is not None else None,
                    hedged=draft_label is not None and draft_label.status == "uncertain",
                    flag_positions=positions,
                )
            )
    return Checklist(items=tuple(items))
