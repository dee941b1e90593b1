"""What a draft can say about each label, as data.

Three kinds of lexicon rule (see ``rule.Kind``):
- ``finding``: a phrase naming a label ("small effusion"); whether it is present, absent or
  uncertain is decided by the negation/uncertainty rules around it;
- ``statement``: a phrase that is itself a verdict ("lungs are clear", "no acute
  cardiopulmonary process"), with a fixed status that the context does not change;
- ``other``: an abnormality with no canonical label (atelectasis, granuloma, degenerative
  spine). It never becomes a label; an affirmed one only stops the draft reading as "no
  finding", because a draft that reports any abnormality is not a normal study.

Order matters only between rules that can match at the same place: the scan (``combined``)
tries them in this order, so a statement ("heart is not enlarged") comes before the finding
it contains ("heart ... enlarged"), and a finding before the vaguer non-canonical word at the
same place ("blunting of the costophrenic angle" is an effusion, "blunting" alone is not).
Patterns are written in lower case and matched against the lower-cased draft, starting at a
word start and ending at a word boundary (``combined``).
"""

from __future__ import annotations

from audit.labels import Label
from audit.schema import Status
from models.rules.rule import Rule

# A gap of up to a few words that does not itself name a finding: used inside statements
# such as "heart size and pulmonary vascularity are within normal limits", so a statement
# never swallows a finding written between its subject and its verdict.
_GAP = (
    r"(?:[\s,]+(?!(?:enlarg|effusion|pneumo|consolid|nodul|mass|opacit|infiltrat|but|however|monitor|leads|"
    r"pacemaker|pacer|wires?|catheter|tube|line)\w*)"
    r"[\w/-]+){0,7}?"
)
_HEART = r"(?:heart|cardiac|cardiomediastinal|cardio-mediastinal|cardiopericardial)"
_HEART_SUBJECT = (
    r"(?:(?:the\s+)?(?:heart(?:\s+size)?|cardiac\s+(?:silhouette|size|shadow|contours?|diameter)"
    r"|cardiomediastinal\s+(?:silhouette|contours?|size|shadows?)|cardio-mediastinal\s+silhouette))"
)
# "is", "appears", and the anonymiser's "XXXX" that often stands where the verb was.
_COPULA = r"(?:\s+xxxx)?(?:\s+(?:is|are|appears?|remains?|seems?|looks?|xxxx))?"
_SIDE_WORDS = r"(?:(?:right|left|bilateral|both|posterior|lateral|r|l)\s+){0,3}"


# Where in the lung an opacity lies, written before it ("right lower lobe opacity", "RLL
# opacity", "retrocardiac opacity", "left basilar opacity") or after it ("opacity in the left
# lung base"). The side words themselves are read by ``laterality``; the lobe abbreviations
# and the lingula name their side there too.
_LUNG_PLACE_BEFORE = (
    r"(?:(?:upper|middle|lower|mid)\s+lobes?|r[lmu]l|l[lu]l|lingular?|retrocardiac|(?:bi)?basilar|"
    r"(?:bi)?basal|(?:upper|mid|middle|lower)[\s-]?(?:lung|zone)(?:\s+(?:zones?|fields?))?|midlung|"
    r"(?:peri|supra|infra|juxta)hilar|(?:lung\s+)?bases?)"
)
_LUNG_PLACE_AFTER = (
    r"(?:(?:(?:right|left|both|bilateral|r|l)\s+)?(?:(?:upper|middle|lower|mid)\s+lobes?|lung\s+bases?|bases?|"
    r"lingula|midlung|(?:upper|mid|middle|lower)[\s-]?lung(?:\s+(?:zones?|fields?))?|lung\s+(?:zones?|fields?)|"
    r"lung\s+ap(?:ex|ices)|(?:retrocardiac|(?:peri|supra|infra|juxta)hilar)\s+(?:region|area|space|chest)|"
    r"r[lmu]l|l[lu]l|hemithora(?:x|ces))|(?:right|left)\s+lung)"
)
# The same places written straight after the opacity with their side and no preposition
# ("streaky opacities right base", "opacity lateral right lung"), or "bilaterally".
_LUNG_PLACE_BARE = (
    r"(?:(?:(?:lateral|medial)\s+)?(?:right|left)\s+(?:(?:upper|middle|lower)\s+lobe|lung\s+base|base|midlung|lung)"
    r"|bilaterally)"
)
# Up to three words between the place and "opacity" that do not make it another finding: a
# nodular opacity is a nodule, a calcified one a granuloma, a pleural or soft-tissue one is
# not in the lung.
_OPACITY_GAP = (
    r"(?:(?!(?:nodular|calcified|round|rounded|mass|masslike|mass-like|pleural|soft)\b)[\w-]+\s+){0,3}?"
)
_OPACITY = r"(?:opaci(?:ty|ties|fication)|haziness)"
# The id of the borderline-heart policy rule; the parser can read it another way (benchmark).
BORDERLINE_RULE_ID = "MENTION.CARDIOMEGALY.BORDERLINE"
# Words describing the pattern of an opacity that is still in the lung: an interstitial,
# reticular, linear or band-like opacity is a lung opacity (MENTION.OPACITY.ANY).
_PATTERN = (
    r"(?:interstitial|reticular|reticulonodular|reticular-nodular|reticulo-nodular|linear|band[\s-]?like|"
    r"plate[\s-]?like|discoid|streaky|strand(?:y|-like)|curvilinear|fibrotic(?:[\s-]appearing)?|coarse)"
)


def _finding(rule_id: str, label: Label, pattern: str, comment: str, example: str, status: Status) -> Rule:
    return Rule(rule_id, "finding", pattern, comment, example, ((label, status),), label=label)


def _statement(rule_id: str, label: Label, status: Status, pattern: str, comment: str, example: str) -> Rule:
    return Rule(
        rule_id, "statement", pattern, comment, example, ((label, status),), label=label, status=status
    )


def _other(rule_id: str, pattern: str, comment: str, example: str) -> Rule:
    # The example is a normal-sounding impression plus this abnormality: no_finding must not
    # be present, which is what the rule is for.
    return Rule(rule_id, "other", pattern, comment, example, (("no_finding", "absent"),))


STATEMENTS: tuple[Rule, ...] = (
    # no_finding: the draft calls the study normal. Overridden (precedence table) when the
    # same draft affirms any finding, canonical or not.
    _statement(
        "NOFIND.NO_ACTIVE_DISEASE",
        "no_finding",
        "present",
        r"no\s+(?:evidence\s+of\s+)?(?:active|acute)\s+(?:cardiopulmonary\s+)?disease\s+(?:is\s+)?(?:seen|identified)",
        "'No active disease seen': the same verdict with a trailing verb, kept whole in the span.",
        "No active disease seen.",
    ),
    _statement(
        "NOFIND.NO_ACUTE_PROCESS",
        "no_finding",
        "present",
        r"(?:no|without|negative\s+for)\s+(?:(?:radiographic|radiologic|x-?ray|plain\s+film|visible|definite|"
        r"obvious)\s+)?(?:(?:evidence|signs?|demonstration|findings?)\s+(?:of|for)\s+)?(?:an?\s+|any\s+)?"
        r"(?:acute|active|significant)\s+(?:or\s+(?:chronic|active|acute)\s+)?(?:radiographic\s+|radiologic\s+)?"
        r"(?:(?:cardiopulmonary|cardio-pulmonary|cardiothoracic|intrathoracic|thoracic|chest|pulmonary|lung|"
        r"cardiac|pleural|osseous)(?:,?\s+(?:or|and)\s+|,\s+)){0,3}"
        r"(?:(?:cardiopulmonary|cardio-pulmonary|cardiothoracic|intrathoracic|thoracic|chest|pulmonary|lung|"
        r"cardiac|pleural|osseous)\s+)?"
        r"(?:disease|process(?:es)?|abnormalit(?:y|ies)|findings?|pathology|illness)",
        "The commonest normal impression: 'no acute cardiopulmonary process/abnormality/disease', "
        "also with a list of organs ('no acute or active cardiac, pulmonary or pleural disease').",
        "No acute cardiopulmonary process.",
    ),
    _statement(
        "NOFIND.NORMAL_CHEST",
        "no_finding",
        "present",
        r"(?:normal|negative|unremarkable)\s+(?:(?:pa\s+and\s+lateral|two[\s-]view|frontal|portable)\s+)?"
        r"(?:chest(?:\s+(?:x-?ray|x-?xxxx|radiograph|film|study|exam(?:ination)?|series))?|"
        r"(?:x-?ray|radiograph(?:ic)?)\s+(?:study|exam(?:ination)?)|chest\s+radiographs?|study|exam(?:ination)?|"
        r"(?:x-?rays?|radiographs?|films?|views?)\s+of\s+the\s+chest)",
        "'Normal chest', 'normal chest x-ray', 'negative chest radiograph', 'unremarkable study', "
        "'unremarkable radiographs of the chest'.",
        "Normal chest x-ray.",
    ),
    _statement(
        "NOFIND.CHEST_IS_NORMAL",
        "no_finding",
        "present",
        r"(?:the\s+)?(?:chest|study|examination|exam|chest\s+(?:x-?ray|radiograph))\s+(?:is|appears)\s+"
        r"(?:otherwise\s+)?(?:normal|unremarkable|negative|within\s+normal\s+limits)",
        "The verdict written the other way round: 'the chest is normal'.",
        "The chest is normal.",
    ),
    _statement(
        "NOFIND.NO_ABNORMALITY",
        "no_finding",
        "present",
        r"no\s+(?:(?:significant|definite|focal|radiographic)\s+)?(?:abnormalit(?:y|ies)|abnormal\s+findings?)"
        r"(?:\s+(?:is|are)\s+(?:seen|identified|detected|demonstrated))?",
        "'No abnormality' without an organ: the whole study is normal.",
        "No abnormality detected.",
    ),
    _statement(
        "NOFIND.OTHERWISE_NORMAL",
        "no_finding",
        "present",
        r"otherwise\s+(?:normal|unremarkable|negative)(?:\s+(?:study|exam(?:ination)?|chest(?:\s+x-?ray)?))?",
        "'Postoperative changes, otherwise unremarkable': a normal verdict that the finding before "
        "it overrules (precedence), so no_finding is absent and quotes that finding.",
        "Otherwise unremarkable.",
    ),
    _statement(
        "NOFIND.CLEAR_CHEST",
        "no_finding",
        "present",
        r"(?:lungs?\s+and\s+heart|heart\s+and\s+lungs)\s+(?:are|appear)\s+(?:normal|unremarkable|clear)",
        "'Heart and lungs are normal' covers every label this auditor reads.",
        "Heart and lungs are normal.",
    ),
    # cardiomegaly: verdicts on heart size.
    _statement(
        "NORMAL.HEART_NOT_ENLARGED",
        "cardiomegaly",
        "absent",
        _HEART_SUBJECT + _COPULA + r"\s+not\s+(?:significantly\s+|appreciably\s+)?enlarged",
        "'Heart is not enlarged' denies cardiomegaly; unlike 'not only', this 'not' is a real denial.",
        "The heart is not enlarged.",
    ),
    _statement(
        "NORMAL.UPPER_LIMITS",
        "cardiomegaly",
        "absent",
        _HEART_SUBJECT + _COPULA + r"\s+(?:(?:at|near|within|in)\s+)?(?:the\s+)?"
        r"(?:upper\s+limits?\s+(?:of\s+)?normal|top\s+(?:of\s+)?normal|upper\s+normal|high\s+normal|upper\s+range\s+of\s+normal)(?:\s+(?:in\s+size|limits))?"
        r"|(?:upper\s+limits?\s+of\s+normal|top\s+normal|upper\s+normal|high\s+normal)"
        r"\s+(?:heart|cardiac)\s+size",
        "Trap: 'heart size upper limits of normal' is a normal heart, not cardiomegaly.",
        "Heart size upper limits of normal.",
    ),
    _statement(
        BORDERLINE_RULE_ID,
        "cardiomegaly",
        "present",
        r"borderline\s+(?:cardiomegaly|enlarged\s+(?:heart|cardiac\s+silhouette)|(?:heart|cardiac)\s+size"
        r"|(?:cardiac|heart)\s+enlargement|enlargement\s+of\s+the\s+(?:heart|cardiac\s+silhouette)"
        r"|(?:size\s+of\s+the\s+)?(?:heart|cardiac\s+silhouette))|"
        + _HEART_SUBJECT
        + _COPULA
        + r"\s+(?:at\s+)?borderline(?:\s+(?:enlarged|in\s+size|large|enlargement|size))?",
        "Policy: 'borderline cardiomegaly', 'heart size is borderline (enlarged)' report cardiomegaly "
        "of the mildest grade, present. 'Borderline' grades the size as 'mild' does (the IU "
        "radiologists code it Cardiomegaly/borderline, NegBio's annotators as cardiomegaly), and the "
        "reader chose to name the heart's size as abnormal, where a normal heart is written 'upper "
        "limits of normal' (NORMAL.UPPER_LIMITS, absent). The comparator treats a present and an "
        "uncertain draft label alike when the image shows cardiomegaly (no MISSING), so the policy "
        "decides only whether an image without cardiomegaly raises UNSUPPORTED. The benchmark "
        "also scores it as uncertain (RulesParser(borderline='uncertain')).",
        "Borderline cardiomegaly.",
    ),
    _statement(
        "NORMAL.HEART_SIZE",
        "cardiomegaly",
        "absent",
        r"normal\s+size(?:\s+and\s+(?:configuration|contours?|shape))?\s+of\s+the\s+"
        r"(?:heart|cardiac\s+silhouette|cardiomediastinal\s+silhouette)|"
        r"(?:normal|unremarkable)\s+(?:(?:heart|cardiac)\s+size|size\s+of\s+the\s+heart|heart|"
        r"(?:cardiac|cardiomediastinal|cardio-mediastinal)\s+(?:silhouette|contours?|size|shadow|outline))|"
        r"(?:heart|cardiac|cardiomediastinal)\s+size\s+(?:is\s+)?(?:normal|within\s+normal\s+limits|unremarkable)|"
        # One gap for both verdict forms: the gap is the costly part of this rule to try.
        rf"{_HEART}\b{_GAP}\s+(?:(?:is|are|appears?|appear|remains?|looks?|seems?)\s+"
        r"(?:grossly\s+|otherwise\s+|again\s+|stably\s+|essentially\s+)?"
        r"(?:normal|within\s+(?:the\s+)?(?:normal\s+limits|limits\s+of\s+normal)|unremarkable|wnl)|"
        r"within\s+normal\s+limits|wnl|normal\s+in\s+size|normal\s+size)",
        "'Cardiomediastinal silhouette is normal / within normal limits', 'normal heart size': "
        "cardiomegaly absent. Also reads 'heart, mediastinum and vessels are normal'.",
        "The cardiomediastinal silhouette is within normal limits.",
    ),
    # lung_opacity: "lungs are clear" is a verdict on airspace disease. Decision: it makes
    # lung_opacity absent (a reviewer sees the quoted phrase when the image disagrees); it
    # says nothing about nodules, which radiologists report beside "lungs clear".
    _statement(
        "NORMAL.LUNGS_CLEAR",
        "lung_opacity",
        "absent",
        r"(?:the\s+|both\s+)?lungs?(?:\s+fields?)?(?:\s+(?:are|is|appear|appears|remain|remains))?\s+"
        r"(?:otherwise\s+|grossly\s+|again\s+|now\s+)?(?:clear|well[\s-]aerated|free\s+of\s+(?:focal\s+)?"
        r"(?:disease|consolidation|infiltrates?))|"
        r"(?:clear|well[\s-]aerated)\s+(?:and\s+(?:well[\s-])?expanded\s+|,\s*(?:well[\s-])?expanded\s+)?lungs?"
        r"|(?:well[\s-]expanded\s+and\s+clear)\s+lungs?|lungs?\s+(?:are\s+)?(?:well[\s-])?expanded\s+and\s+clear"
        r"(?:\s+(?:focal\s+)?(?:airspace|air\s+space)\s+(?:disease|opacit(?:y|ies)|consolidation))?",
        "'Lungs are clear' denies airspace opacity (decision: lung_opacity absent, nodules untouched).",
        "The lungs are clear.",
    ),
    _statement(
        "NORMAL.LUNGS_BUT_CLEAR",
        "lung_opacity",
        "absent",
        r"but\s+(?:(?:are|is|remain|remains|appear|appears)\s+)?(?:otherwise\s+)?clear(?!\s+(?:of|from)\s+(?:the|prior))"
        r"|otherwise\s+clear",
        "'Lungs are hyperinflated but clear', 'Minimal basilar atelectasis. Otherwise clear.': the "
        "lungs' verdict after an abnormality that stays affirmed (so the study is not called normal).",
        "The lungs are hyperinflated but clear.",
    ),
    _statement(
        "NORMAL.LUNGS_WNL",
        "lung_opacity",
        "absent",
        r"(?:the\s+|both\s+)?lungs?(?:\s+fields?)?(?:\s+(?:are|is|appear|appears|remain|remains))?\s+"
        r"(?:otherwise\s+|grossly\s+)?(?:normal|within\s+normal\s+limits|unremarkable)|"
        r"(?:normal|unremarkable)\s+lungs?",
        "'Lungs are within normal limits' denies like 'lungs are clear'.",
        "The lungs are within normal limits.",
    ),
)

FINDINGS: tuple[Rule, ...] = (
    # pleural_effusion
    _finding(
        "MENTION.EFFUSION.PLEURAL_EFFUSION",
        "pleural_effusion",
        r"pleural\s+effusions?|(?:pleural\s+)?effusions?\s*/\s*thickening",
        "The plain name.",
        "Small right pleural effusion.",
        "present",
    ),
    _finding(
        "MENTION.EFFUSION.HYDROTHORAX",
        "pleural_effusion",
        r"hydrothorax|hemothorax|haemothorax|empyema|fluid\s*overload\s+with\s+effusions?",
        "Named kinds of pleural fluid.",
        "Left hemothorax.",
        "present",
    ),
    _finding(
        "MENTION.EFFUSION.EFFUSION",
        "pleural_effusion",
        r"effusions?",
        "'Effusion' alone means pleural effusion on a chest film ('pericardial effusion' is read "
        "first, from its first word, as OTHER.PERICARDIAL_EFFUSION).",
        "Bilateral effusions.",
        "present",
    ),
    _finding(
        "MENTION.EFFUSION.PLEURAL_FLUID",
        "pleural_effusion",
        r"pleural\s+fluid|fluid\s+in\s+the\s+(?:\w+\s+)?(?:pleural\s+space|fissures?|costophrenic\s+angles?)"
        r"|(?:layering|subpulmonic)\s+fluid",
        "Fluid described without the word effusion.",
        "Small amount of pleural fluid on the left.",
        "present",
    ),
    _finding(
        "MENTION.EFFUSION.BLUNTED_CPA",
        "pleural_effusion",
        r"blunt(?:ed|ing)\s+(?:of\s+)?(?:the\s+)?" + _SIDE_WORDS + r"(?:costophrenic|cp|costo-phrenic)\s+"
        r"(?:angles?|sulc[iu]s?|recess(?:es)?)|(?:costophrenic|cp)\s+(?:angles?|sulc[iu]s?)\s+"
        r"(?:(?:is|are|remains?)\s+)?(?:blunted|blunting)",
        "A blunted costophrenic angle is how a small effusion shows on a frontal film.",
        "Blunting of the left costophrenic angle.",
        "present",
    ),
    # pneumothorax
    _finding(
        "MENTION.PNEUMOTHORAX.NAME",
        "pneumothorax",
        r"(?:hydro)?pneumothora(?:x|ces|xes)|pneumothoraxes",
        "The plain name and its plural 'pneumothoraces'.",
        "Small apical pneumothorax on the right.",
        "present",
    ),
    _finding(
        "MENTION.PNEUMOTHORAX.PTX",
        "pneumothorax",
        r"ptx",
        "The abbreviation.",
        "Left PTX.",
        "present",
    ),
    _finding(
        "MENTION.PNEUMOTHORAX.PLEURAL_AIR",
        "pneumothorax",
        r"(?:pleural\s+air|(?:visceral\s+)?pleural\s+line\s+(?:is\s+)?(?:seen|visible|evident))",
        "Air in the pleural space or a visible visceral pleural line.",
        "A visceral pleural line is seen at the left apex.",
        "present",
    ),
    # lung_opacity
    _finding(
        "MENTION.OPACITY.CONSOLIDATION",
        "lung_opacity",
        r"consolidat(?:ion|ions|ive\s+(?:opacit(?:y|ies)|changes?|process))",
        "Consolidation in all its forms.",
        "Right lower lobe consolidation.",
        "present",
    ),
    _finding(
        "MENTION.OPACITY.AIRSPACE",
        "lung_opacity",
        r"(?:air[\s-]?space|alveolar)\s+(?:opaci(?:ty|ties|fication)|disease|process|filling|densit(?:y|ies)"
        r"|infiltrat(?:e|es)|shadowing)",
        "'Airspace opacity/disease', 'alveolar process'.",
        "Patchy airspace disease in the left lower lobe.",
        "present",
    ),
    _finding(
        "MENTION.OPACITY.INFILTRATE",
        "lung_opacity",
        r"infiltrat(?:e|es|ion|ions|ive\s+(?:opacit(?:y|ies)|changes?|process))",
        "Infiltrate/infiltration.",
        "Bibasilar infiltrates.",
        "present",
    ),
    _finding(
        "MENTION.OPACITY.PNEUMONIA",
        "lung_opacity",
        r"(?:broncho)?pneumonias?|pneumonic\s+(?:process|infiltrate|consolidation)",
        "Pneumonia is read as the opacity it shows.",
        "Findings consistent with left lower lobe pneumonia.",
        "present",
    ),
    _finding(
        "MENTION.OPACITY.FOCAL_OPACITY",
        "lung_opacity",
        r"(?:focal|patchy|confluent|hazy|wedge[\s-]shaped|ill[\s-]defined|fluffy|ground[\s-]glass)\s+"
        r"(?:(?:and|or|,)\s+\w+\s+)?(?:[\w-]+\s+){0,4}?opacit(?:y|ies)",
        "Opacities described the way airspace disease looks (focal, patchy, confluent, hazy).",
        "Patchy opacity in the right lower lobe.",
        "present",
    ),
    _finding(
        "MENTION.OPACITY.LOCATED",
        "lung_opacity",
        _LUNG_PLACE_BEFORE + r"\s+" + _OPACITY_GAP + _OPACITY + "|"
        r"(?:lung|pulmonary|parenchymal)\s+" + _OPACITY + "|"
        r"(?:opaci(?:ty|ties|fication)|haziness)(?:\s+xxxx)?\s+(?:(?:(?:is|are)\s+(?:again\s+)?"
        r"(?:seen|noted|present|identified)\s+)?(?:in|at|within|involving|of|over|projecting\s+over|overlying)"
        r"\s+(?:the\s+)?" + _LUNG_PLACE_AFTER + "|" + _LUNG_PLACE_BARE + ")",
        "An opacity placed in the lung by a lobe or zone ('right lower lobe opacity', 'RLL opacity', "
        "'retrocardiac opacity', 'left base opacities', 'opacity in the left lung base', 'streaky "
        "opacities right base', 'pulmonary opacities', 'haziness in the right lung apex') is a lung "
        "opacity whatever its cause ('likely atelectasis' hedges the cause, not the opacity); a bare "
        "'opacity' stays OTHER.AIRWAYS_AND_LUNG, and a nodular, calcified or interstitial one is not "
        "this label.",
        "Opacity in the right lower lobe.",
        "present",
    ),
    _finding(
        "MENTION.OPACITY.PATTERN",
        "lung_opacity",
        _PATTERN
        + r"(?:\s*(?:and|or|,|/)\s*[\w-]+)?\s+(?:[\w-]+\s+){0,3}?"
        + _OPACITY
        + r"(?:\s+(?:(?:in|at|within|"
        r"involving|of|over|projecting\s+over|overlying)\s+(?:the\s+)?"
        + _LUNG_PLACE_AFTER
        + "|"
        + _LUNG_PLACE_BARE
        + "))?",
        "An opacity described by its pattern: 'interstitial opacities', 'streaky bibasilar opacities', "
        "'bandlike opacities', 'reticular-nodular opacities'. A lung-opacity box is drawn on the "
        "density, whatever its pattern (MENTION.OPACITY.ANY); an interstitial pattern without the "
        "word opacity ('interstitial markings') stays OTHER.SCARRING.",
        "Increased interstitial opacities.",
        "present",
    ),
    # nodule_mass
    _finding(
        "MENTION.NODULE.NODULE",
        "nodule_mass",
        r"nodules?|micronodules?",
        "A nodule is a nodule whatever cause the reader gives it ('calcified nodule', 'dense nodule "
        "suggesting a previous granulomatous process'), unless it is explained as something that is "
        "not a nodule at all (EXPLAIN.NOT_A_NODULE: nipple, bone, vessel, overlap).",
        "A 1 cm nodule in the right upper lobe.",
        "present",
    ),
    _finding(
        "MENTION.NODULE.NODULAR_OPACITY",
        "nodule_mass",
        r"(?<!-)nodular\s+(?:(?!interstitial|reticul)\w+\s+){0,3}?(?:opacit(?:y|ies)|densit(?:y|ies)|lesions?"
        r"|foc(?:us|i)|shadows?)",
        "A nodular opacity or density is read as a nodule; not the nodular part of an interstitial "
        "pattern ('reticular-nodular', 'nodular interstitial opacities': MENTION.OPACITY.PATTERN). "
        "The descriptive form is the one readers use before they name what it is, so a cause given "
        "after it decides: a mimic (EXPLAIN.NOT_A_NODULE) or a granuloma (EXPLAIN.GRANULOMA, "
        "'nodular densities consistent with chronic granulomatous disease') makes it no nodule.",
        "Nodular opacity in the left midlung.",
        "present",
    ),
    _finding(
        "MENTION.NODULE.MASS",
        "nodule_mass",
        r"mass[\s-]?like\s+(?:opaci(?:ty|ties|fication)|lesion|densit(?:y|ies))|mass(?:es)?(?!\s+effect)",
        "Mass (not 'mass effect', which is OTHER.MASS_EFFECT).",
        "Left hilar mass.",
        "present",
    ),
    _finding(
        "MENTION.NODULE.SPICULATED",
        "nodule_mass",
        r"spiculated\s+(?:\w+\s+)?(?:lesion|opacit(?:y|ies)|densit(?:y|ies))|"
        r"(?:lung|pulmonary)\s+(?:lesion|neoplasm|tumou?r|carcinoma|malignancy|cancer)|tumou?rs?",
        "Spiculated lesion, lung tumour or carcinoma: a mass by another name.",
        "Spiculated lesion in the left upper lobe.",
        "present",
    ),
    _finding(
        "MENTION.NODULE.COIN_LESION",
        "nodule_mass",
        r"coin\s+lesions?|rounded\s+(?:opacit(?:y|ies)|densit(?:y|ies)|lesions?)",
        "Older terms for a solitary nodule.",
        "Rounded opacity in the right mid lung.",
        "present",
    ),
    # cardiomegaly
    _finding(
        "MENTION.CARDIOMEGALY.NAME",
        "cardiomegaly",
        r"cardiomegaly|cardiac\s+(?:enlargement|megaly)|heart\s+enlargement|enlargement\s+of\s+the\s+"
        r"(?:heart|cardiac\s+(?:silhouette|shadow))",
        "The plain name and 'cardiac enlargement'.",
        "Mild cardiomegaly.",
        "present",
    ),
    _finding(
        "MENTION.CARDIOMEGALY.ENLARGED_HEART",
        "cardiomegaly",
        r"(?:enlarged|large|prominent)\s+(?:heart|cardiac\s+(?:silhouette|shadow|size|contour))"
        r"(?!\s+(?:border|valve))|"
        + _HEART_SUBJECT
        + _COPULA
        + r"\s+(?:(?:again|still|now|\w+ly|borderline|somewhat)\s+){0,2}"
        r"(?:enlarged|increased(?:\s+in\s+size)?|large|prominent)|"
        r"increased?\s+(?:in\s+)?(?:the\s+)?(?:heart|cardiac)\s+size",
        "'Enlarged heart', 'the cardiac silhouette is mildly enlarged'.",
        "The cardiac silhouette is moderately enlarged.",
        "present",
    ),
    # Tried last at a word, so every named or placed opacity above quotes its own rule.
    _finding(
        "MENTION.OPACITY.ANY",
        "lung_opacity",
        r"opaci(?:ty|ties|fication|fications)|opacified|(?<!-)opaque",
        "Policy, the box rule: a box labelled 'lung opacity' (VinDr Lung Opacity, Consolidation, "
        "Infiltration; NIH Infiltrate, Consolidation, Pneumonia) is drawn on any region of increased "
        "density in the lung, whatever cause the reader offers. So an opacity the draft reports is "
        "a lung opacity, bare ('XXXX opacities are present'), patterned (interstitial, streaky, "
        "bandlike) or explained as atelectasis, scarring or edema (the cause is not a hedge on the "
        "opacity). Not a lung opacity: one named as a nodule or mass (nodular, rounded, masslike: "
        "nodule_mass), one placed outside the lung (pleural, mediastinal, paratracheal, soft-tissue, "
        "chest-wall: OTHER.EXTRAPULMONARY_OPACITY), one explained by something that is not lung "
        "(nipple, bone, overlap, artifact: EXPLAIN.NOT_A_NODULE; granulomas: EXPLAIN.GRANULOMA), "
        "and a 'density', which without an airspace word stays OTHER.AIRWAYS_AND_LUNG (the vaguer "
        "word, often for bone or soft tissue; the IU coders too keep Density apart from Opacity).",
        "Increased XXXX opacities, likely atelectasis.",
        "present",
    ),
)

OTHERS: tuple[Rule, ...] = (
    _other(
        "OTHER.PERICARDIAL_EFFUSION",
        r"pericardial\s+effusions?",
        "Not a pleural effusion.",
        "No acute disease. Small pericardial effusion.",
    ),
    _other(
        "OTHER.MASS_EFFECT", r"mass\s+effect", "Not a mass.", "No acute disease. Mass effect on the trachea."
    ),
    _other(
        "OTHER.ATELECTASIS",
        r"atelecta(?:sis|ses|tic)|subsegmental\s+collapse|collapse",
        "Atelectasis has no canonical label here.",
        "No acute disease. Left basilar atelectasis.",
    ),
    _other(
        "OTHER.EXTRAPULMONARY_OPACITY",
        r"(?:mediastinal|paratracheal|retrosternal|chest[\s-]wall|"
        r"soft[\s-]tissues?|pleural(?:[\s-]based)?|extrapleural|breast|osseous|bony|spinal|paraspinal)\s+"
        r"(?:[\w-]+\s+)?(?:opaci(?:ty|ties|fication)|densit(?:y|ies))",
        "An opacity outside the lung: mediastinal, paratracheal, pleural-based, soft tissue, bone.",
        "No acute disease. Right paratracheal opacity, likely vascular.",
    ),
    _other(
        "OTHER.GRANULOMA",
        r"granulomas?|granulomatous|calcified\s+(?:lymph\s+)?nodes?|calcifications?|calcified|calcinosis",
        "Granulomas and calcifications are not nodules in the NegBio mapping.",
        "No acute disease. Calcified granuloma in the right upper lobe.",
    ),
    _other(
        "OTHER.SCARRING",
        r"scar(?:ring|s)?|fibros(?:is|ing)|fibrotic|pleural\s+thickening|pleural\s+plaques?|"
        r"interstitial\s+(?:markings?|disease|changes?|prominence|pattern)|reticula(?:r|tion)",
        "Scarring, fibrosis, interstitial changes (an interstitial opacity is MENTION.OPACITY.PATTERN).",
        "No acute disease. Biapical pleural thickening.",
    ),
    _other(
        "OTHER.HYPERINFLATION",
        r"hyperinflat(?:ion|ed)|hyperexpan(?:sion|ded)|emphysema(?:tous)?|copd|chronic\s+obstructive"
        r"|bullae|bullous|flattened\s+(?:hemi)?diaphragms?|hyperlucen(?:t|cy)",
        "Emphysema and hyperinflation.",
        "No acute disease. Hyperinflated lungs.",
    ),
    _other(
        "OTHER.SPINE_AND_BONES",
        r"degenerative|degeneration|spondylo(?:sis|tic)|osteophytes?|scoliosis|kyphosis|kyphotic|dextroscoliosis|"
        r"levoscoliosis|dextrocurvature|levocurvature|fractures?|deformit(?:y|ies)|osteopenia|arthritis|"
        r"arthritic|compression\s+deformit(?:y|ies)|vertebroplasty|kyphoplasty|old\s+rib",
        "Bones and spine.",
        "No acute disease. Degenerative changes of the spine.",
    ),
    _other(
        "OTHER.VESSELS",
        r"tortu(?:ous|osity)|ectatic|ectasia|unfold(?:ed|ing)|aneurysm(?:al)?|atheroscler(?:osis|otic)|"
        r"aortic\s+knob\s+(?:calcification|prominence)|vascular\s+congestion|cephalization|"
        r"pulmonary\s+(?:venous\s+)?(?:hypertension|congestion)|edema|oedema|kerley",
        "Aorta and pulmonary vessels, congestion and edema.",
        "No acute disease. Tortuous aorta.",
    ),
    _other(
        "OTHER.DEVICES_SURGERY",
        r"sternotomy|(?:sternal\s+)?wires?|(?:surgical\s+)?clips?|pacemaker|pacer|defibrillator|aicd|"
        r"catheters?|(?:endotracheal|chest|feeding|nasogastric|et|ng)\s+tubes?|port-?a-?cath|\bports?|stents?|"
        r"prosthe(?:sis|tic)|post-?(?:surgical|operative)|cabg|valve\s+replacement|hardware|"
        r"lobectomy|pneumonectomy|mastectomy|cholecystectomy|surgical|picc|central\s+line|devices?|"
        r"sutures?|(?:monitor(?:ing)?\s+)?leads|tracheostomy|generator|syndesmophytes?|dish|endplate|"
        r"gastrostomy|jejunostomy|g-?tube|shunt(?:\s+tubing)?|tubing|tubes?|implants?|prosthes[ie]s|expanders?|"
        r"stimulators?|(?:nipple\s+)?(?:rings?|jewelry|piercings?)|(?:spinal\s+)?fusion|cerclage|staples?|"
        r"screws?|rods?|(?:venous|arterial|midline|dialysis)\s+(?:line|catheter)|lines?(?=\s+(?:tip|terminat\w*|in\s+place))|"
        r"tip(?=\s+(?:in|at|is|projects?|projecting|overlies|overlying|terminat\w*|near|within|over|ends?)\b)|"
        r"arthroplasty|orif|anastomo(?:sis|tic)|resection",
        "Policy: any device, line, tube, implant or surgical change makes the study not 'no "
        "finding', consistently (the IU coders index every one; a reviewer reads 'no finding' as "
        "'nothing reported'). 'Gastrostomy tube is noted' and 'postsurgical changes' both do. A "
        "device that is denied or removed ('no pneumothorax following chest tube removal') does not.",
        "No acute disease. Median sternotomy.",
    ),
    _other(
        "OTHER.HILA_MEDIASTINUM",
        r"(?:lymph)?adenopathy|hilar\s+(?:prominence|enlargement|fullness)|(?:prominent|enlarged|full)\s+hila"
        r"|widen(?:ed|ing)\s+(?:of\s+the\s+)?(?:mediastin|superior)|hiatal\s+hernia|hiatus\s+hernia|hernia",
        "Hila, mediastinum and hernias.",
        "No acute disease. Small hiatal hernia.",
    ),
    _other(
        "OTHER.AIRWAYS_AND_LUNG",
        r"bronchiectasis|bronchitis|bronchitic|peribronchial\s+(?:thickening|cuffing)|airway\s+disease|"
        r"hypoinflat(?:ion|ed)|under[\s-]?(?:expanded|inflated|aerated)|low\s+lung\s+volumes?"
        r"|(?:decreased|low|diminished|reduced)\s+(?:lung\s+)?volumes?|elevat(?:ed|ion)\s+of\s+the"
        r"|elevated\s+(?:right|left)?\s*(?:hemi)?diaphragm|eventration|densit(?:y|ies)|"
        r"lucen(?:cy|cies)|cysts?|cavit(?:y|ies|ary)|crowding|bronchovascular\s+markings|nipple\s+shadows?|"
        r"lesions?|dilat(?:ed|ation)|dissection|foreign\s+bod(?:y|ies)|piercings?|curvature|epicardial\s+fat|"
        r"fat\s+pad|prominen(?:t|ce)|widen(?:ed|ing)|obscur(?:ed|es|ing|ation)|lung\s+volumes?\s+(?:are\s+)?"
        r"(?:decreased|low|diminished|reduced)|technically\s+limited|limited\s+(?:exam|study|examination)|"
        r"nondiagnostic|suboptimal|rotat(?:ed|ion)|(?:poor|shallow)\s+inspiration|hypoventilat(?:ion|ed)|"
        r"blunt(?:ed|ing)|reticulonodular|engorge(?:d|ment)|(?:motion\s+)?artifacts?",
        "Other lung findings, including a density (see MENTION.OPACITY.ANY).",
        "No acute disease. Low lung volumes.",
    ),
)

LEXICON: tuple[Rule, ...] = STATEMENTS + FINDINGS + OTHERS
