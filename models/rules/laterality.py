"""Which side of the patient a mention names: left, right, bilateral, or none.

Side words are looked for in the mention's own clause, before it ("right pleural effusion",
"left lower lobe consolidation") or just after it ("effusion on the right"), never across
another finding mention ("left nodule and effusion" gives the effusion no side). Both sides
named together ("right and left") read as bilateral. A lobe names its side: RLL, RML, RUL are
right; LLL, LUL and the lingula are left. Cardiomegaly and no_finding have no side.
The side words are found by the parser's trigger scan (one pass for modifiers and sides).
"""

from __future__ import annotations

from audit.schema import Side
from models.rules.rule import Rule

LATERALITY_RULES: tuple[Rule, ...] = (
    Rule(
        "SIDE.BILATERAL",
        "side",
        r"bilateral(?:ly)?|both|bibasilar|bibasal|biapical|bi-?basilar|bilobar|bases|apices",
        "Both sides in one word; 'the bases' and 'the apices' name both lungs' bases or apices.",
        "Bibasilar consolidation.",
        (("lung_opacity", "present"),),
    ),
    Rule(
        "SIDE.RIGHT",
        "side",
        r"right(?:-sided)?|rt|r(?=\s+(?:lower|upper|middle|mid|base|apex|lung))",
        "The patient's right, also 'right-sided' and 'R lower lobe'.",
        "Right-sided pneumothorax.",
        (("pneumothorax", "present"),),
    ),
    Rule(
        "SIDE.LEFT",
        "side",
        r"left(?:-sided)?|lt|l(?=\s+(?:lower|upper|mid|base|apex|lung))",
        "The patient's left, also 'left-sided' and 'L lower lobe'.",
        "Left-sided effusion.",
        (("pleural_effusion", "present"),),
    ),
    Rule(
        "SIDE.RIGHT_LOBE",
        "side",
        r"r[lmu]l|middle\s+lobe",
        "The right lung's lobes by abbreviation (RLL, RML, RUL), and the middle lobe, which only the "
        "right lung has.",
        "RLL opacity.",
        (("lung_opacity", "present"),),
    ),
    Rule(
        "SIDE.LEFT_LOBE",
        "side",
        r"l[lu]l|lingula(?:r)?",
        "The left lung's lobes (LLL, LUL) and the lingula, which only the left lung has.",
        "Lingular consolidation.",
        (("lung_opacity", "present"),),
    ),
)

SIDE_OF_RULE: dict[str, Side] = {
    "SIDE.BILATERAL": "bilateral",
    "SIDE.RIGHT": "right",
    "SIDE.LEFT": "left",
    "SIDE.RIGHT_LOBE": "right",
    "SIDE.LEFT_LOBE": "left",
}
# How far (characters) a side word may sit from its mention: "right lower lobe airspace
# consolidation" is about 30; "effusion at the left costophrenic angle" about 20.
BEFORE_WINDOW = 45
AFTER_WINDOW = 30


def combine(sides: set[Side]) -> Side | None:
    """One side for several: left and right together read as bilateral."""
    if not sides:
        return None
    if "bilateral" in sides or {"left", "right"} <= sides:
        return "bilateral"
    return next(iter(sides))
