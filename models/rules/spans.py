"""How far a label's span reaches: the finding phrase with its adjacent descriptors and place.

Span policy (the parser applies it to every ``finding`` mention; ``statement`` spans are the
statement itself):

1. The core is the mention ("effusion", "airspace disease").
2. The deciding trigger is included when one decided the status ("No pleural effusion",
   "Pneumothorax is not seen"), and so is the side word the side was read from.
3. Adjacent descriptors before it are included, word by word, as long as every word is one
   (``SPAN.DESCRIPTOR``): size, severity, character and location ("Tiny apical pneumothorax",
   "small left pleural effusion", "8 mm nodule"). Course words ("stable", "new",
   "increased") and articles are not descriptors: "Interval increase in small left pleural
   effusion" quotes "small left pleural effusion".
4. An adjacent place phrase after it is included (``SPAN.PLACE``): "mass in the left upper
   lobe", "pneumothorax on the right", "fluid at the right base".
5. The span never crosses its clause nor another finding mention, and it is always the
   draft's own text at its offsets (``draft[start:end] == span``).
"""

from __future__ import annotations

import re

from models.rules.rule import Rule

SPAN_RULES: tuple[Rule, ...] = (
    Rule(
        "SPAN.DESCRIPTOR",
        "descriptor",
        r"tiny|small|smaller|large|larger|moderate|moderately|mild|mildly|minimal|minimally|trace|severe|"
        r"severely|massive|marked|markedly|slight|slightly|subtle|extensive|sizable|sizeable|"
        r"(?:small|moderate|large|medium)-(?:to-(?:moderate|large)-)?sized|small-to-moderate|"
        r"moderate-to-large|spiculated|patchy|focal|multifocal|confluent|dense|hazy|streaky|"
        r"ill-defined|well-defined|(?:well-)?circumscribed|irregular|lobulated|round|rounded|loculated|"
        r"layering|dependent|subpulmonic|cavitary|calcified|noncalcified|uncalcified|solid|solitary|"
        r"diffuse|scattered|coarse|interstitial|reticular|linear|band-?like|plate-?like|discoid|"
        r"dominant|discrete|vague|faint|apical|basilar|basal|bibasilar|bibasal|lobar|segmental|"
        r"subsegmental|multilobar|perihilar|retrocardiac|lingular|peripheral|lateral|medial|anterior|"
        r"posterior|hilar|pulmonary|lung|parenchymal|upper|middle|lower|mid|lobe|zone|right|left|"
        r"bilateral|right-sided|left-sided|r[lmu]l|l[lu]l|simple|tension|residual|"
        r"\d+(?:\.\d+)?(?:-?(?:mm|cm))?|mm|cm",
        "Words that describe the finding itself (size, severity, character, location); the span "
        "takes in a run of them just before the mention.",
        "Spiculated mass in the left upper lobe.",
        (("nodule_mass", "present"),),
    ),
    Rule(
        "SPAN.PLACE",
        "place",
        r"(?:in|at|within|involving|of|on|over|along|overlying|projecting\s+over)\s+(?:the\s+)?"
        r"(?:(?:(?:right|left|bilateral|both|r|l)\s+)?(?:(?:upper|middle|lower|mid)\s+)?"
        r"(?:lobes?|lung\s+(?:bases?|apex|apices|zones?|fields?)|lungs?|bases?|apex|apices|lingula|"
        r"hemithorax|hemithoraces|costophrenic\s+(?:angles?|sulc[iu]s?)|midlung|zones?|hila|hilum)"
        r"|(?:right|left)(?:\s+side)?|r[lmu]l|l[lu]l)",
        "A place phrase just after the mention ('in the left upper lobe', 'on the right') belongs "
        "to the finding's phrase.",
        "Tiny apical pneumothorax on the right.",
        (("pneumothorax", "present"),),
    ),
)

_DESCRIPTOR, _PLACE = SPAN_RULES
_DESCRIPTOR_WORD = re.compile(rf"(?:{_DESCRIPTOR.pattern})")
_PLACE_AFTER = re.compile(rf"\s+(?:{_PLACE.pattern})\b")
# How far back one descriptor word is looked for (characters): longer than any descriptor
# word plus the spaces before the span.
_WORD_REACH = 32


def widen(text: str, start: int, end: int, mention_end: int, low: int, high: int) -> tuple[int, int]:
    """``start``/``end`` widened over adjacent descriptors before and a place phrase just after
    the mention (which ends at ``mention_end``), never beyond ``low``/``high``; ``text`` is the
    lower-cased draft."""
    # Word by word backwards: split() is done in C, and a whole word is then matched anchored,
    # which is much cheaper than searching backwards with a regex.
    while start > low and text[start - 1].isspace():
        window_start = max(low, start - _WORD_REACH)
        window = text[window_start:start]
        words = window.split()
        if not words or _DESCRIPTOR_WORD.fullmatch(words[-1]) is None:
            break
        word_start = window_start + len(window.rstrip()) - len(words[-1])
        if word_start == window_start and word_start > low and not text[word_start - 1].isspace():
            break  # the window cut a longer word: not a descriptor
        start = word_start
    place = _PLACE_AFTER.match(text, mention_end, high)
    if place is not None:
        end = max(end, place.end())
    return start, end
