"""The written table that settles a label mentioned more than once in one draft.

A draft reading holds at most one entry per label, so every conflict is resolved here,
before the reading is built, by the rows below (each row has a test in
``tests/models/test_rules_parser.py``):

1. PREC.PRESENT_WINS: a label affirmed anywhere, and hedged or denied elsewhere, is present.
   One exception, row 7.
2. PREC.UNCERTAIN_OVER_ABSENT: hedged somewhere, denied elsewhere, never affirmed: uncertain.
3. PREC.FIRST_SPAN: of several mentions with the winning status, the first one's span and
   rule are kept.
4. PREC.SIDES_MERGE: the sides those mentions name are combined (left + right = bilateral).
5. PREC.FINDING_OVERRULES_NORMAL: a draft that calls the study normal but affirms or hedges
   any finding (canonical or not) has no_finding absent, quoting the first such finding.
6. PREC.ALL_DENIED_IS_NORMAL: a draft that never calls the study normal, but denies findings
   and affirms or hedges none, has no_finding present, quoting the first denial.
7. PREC.IMPRESSION_HEDGES_A_SIGN: a label affirmed only by an indirect sign (a blunted
   costophrenic angle, ``SIGN_RULES``) outside the IMPRESSION, and hedged or denied in the
   IMPRESSION, takes the IMPRESSION's status. The sign is what the reader saw; the
   impression is what they made of it ("FINDINGS: Blunting of the left costophrenic angle.
   IMPRESSION: Effusion versus pleural scarring." is uncertain). A finding named outright
   in FINDINGS ("small left effusion") still wins by row 1.

Why present wins: a draft that says "no effusion on the left" and "small right effusion"
does report an effusion, and a missed affirmation is the error the auditor exists to catch.
This is the CheXpert labeler's aggregation order (positive, then uncertain, then negative).
"""

from __future__ import annotations

from typing import NamedTuple

from audit.labels import LABELS, Label
from audit.schema import DraftLabel, Side, Status
from models.rules.laterality import combine

PRECEDENCE_TABLE: tuple[tuple[str, str, str], ...] = (
    ("PREC.PRESENT_WINS", "affirmed anywhere, hedged or denied elsewhere", "present"),
    ("PREC.UNCERTAIN_OVER_ABSENT", "hedged, and denied elsewhere, never affirmed", "uncertain"),
    ("PREC.FIRST_SPAN", "several mentions share the winning status", "the first one's span and rule"),
    ("PREC.SIDES_MERGE", "those mentions name different sides", "sides combined; left + right = bilateral"),
    (
        "PREC.FINDING_OVERRULES_NORMAL",
        "study called normal, and any finding affirmed or hedged",
        "no_finding absent, quoting the first such finding",
    ),
    (
        "PREC.ALL_DENIED_IS_NORMAL",
        "study not called normal, findings denied, none affirmed or hedged",
        "no_finding present, quoting the first denial",
    ),
    (
        "PREC.IMPRESSION_HEDGES_A_SIGN",
        "affirmed only by an indirect sign outside the IMPRESSION, hedged or denied in it",
        "the IMPRESSION's status, quoting its phrase",
    ),
)

# Mentions that are signs of a label rather than its name: the IMPRESSION may overrule them (row 7).
SIGN_RULES = frozenset({"MENTION.EFFUSION.BLUNTED_CPA"})

_RANK: dict[Status, int] = {"present": 0, "uncertain": 1, "absent": 2}
BACKEND = "rules"


class Hit(NamedTuple):
    """One decided mention: a label (None for a non-canonical abnormality), its status,
    where its phrase lies in the draft, the deciding rule, the side it names and whether it
    was read in an IMPRESSION (or other conclusion) section."""

    label: Label | None
    status: Status
    start: int
    end: int
    rule_id: str
    side: Side | None = None
    conclusion: bool = False


def _draft_label(
    text: str, label: Label, hit: Hit, status: Status, side: Side | None, rule_id: str
) -> DraftLabel:
    return DraftLabel(
        label=label,
        status=status,
        span=text[hit.start : hit.end],
        start=hit.start,
        end=hit.end,
        side=side,
        rule_id=rule_id,
        backend=BACKEND,
    )


def _is_sign(hit: Hit) -> bool:
    return hit.rule_id.split("|", 1)[0] in SIGN_RULES


def resolve(text: str, hits: list[Hit]) -> tuple[DraftLabel, ...]:
    """One DraftLabel per label mentioned, in canonical label order, by the table above.

    ``hits`` come in text order, so "first" below is the earliest in the draft.
    """
    by_label: dict[Label, list[Hit]] = {}
    for hit in hits:
        if hit.label is not None:
            by_label.setdefault(hit.label, []).append(hit)
    # label -> (the hit quoted, status, side, rule id)
    decided: dict[Label, tuple[Hit, Status, Side | None, str]] = {}
    for label, label_hits in by_label.items():
        best = min(_RANK[hit.status] for hit in label_hits)
        winners = [hit for hit in label_hits if _RANK[hit.status] == best]
        rule_id = winners[0].rule_id
        if best == 0 and all(_is_sign(hit) and not hit.conclusion for hit in winners):
            concluded = [hit for hit in label_hits if hit.conclusion]
            if concluded:
                best = min(_RANK[hit.status] for hit in concluded)
                winners = [hit for hit in concluded if _RANK[hit.status] == best]
                rule_id = f"PREC.IMPRESSION_HEDGES_A_SIGN|{winners[0].rule_id}"
        side = combine({hit.side for hit in winners if hit.side is not None})
        decided[label] = (winners[0], winners[0].status, side, rule_id)
    normal = decided.get("no_finding")
    if normal is not None and normal[1] == "present":
        affirmed = [hit for hit in hits if hit.label != "no_finding" and hit.status != "absent"]
        if affirmed:
            rule_id = f"PREC.FINDING_OVERRULES_NORMAL|{affirmed[0].rule_id}"
            decided["no_finding"] = (affirmed[0], "absent", None, rule_id)
    elif normal is None and hits and all(hit.status == "absent" for hit in hits):
        rule_id = f"PREC.ALL_DENIED_IS_NORMAL|{hits[0].rule_id}"
        decided["no_finding"] = (hits[0], "present", None, rule_id)
    return tuple(_draft_label(text, label, *decided[label]) for label in LABELS if label in decided)
