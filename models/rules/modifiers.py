"""Negation, uncertainty, pseudo-negation and scope rules, as data (NegEx / NegBio style).

How they apply (``parser``): a trigger before a mention (``*_pre``) reaches forward to the
end of its clause; a trigger after a mention (``*_post``) reaches back at most 60
characters. A clause ends at a sentence end, a semicolon, or a ``term`` rule ("but",
"however"). The nearest trigger wins. Pseudo-negations look like triggers but are not: a
``pseudo`` rule ("not only", "no change in") hides every trigger before it, so the mentions
it reaches read as affirmed; a ``mask`` rule ("to suggest") only hides the trigger word it
contains, so "no opacity to suggest pneumonia" is still denied. A ``drop`` rule makes the
mentions it reaches say nothing about the label ("no new consolidation" neither affirms
nor denies a consolidation).

An ``explain`` rule (``EXPLANATIONS``), after a mention in its sentence, gives it a cause that
is not its label ("nodular opacity ... most likely nipple"): the mention then reads as a
non-canonical abnormality. These are not scanned with the others: the parser looks for them
only after a mention they can explain, which is rare, so most drafts never pay for them.

Where several rules match at one place, the first in ``MODIFIERS`` order wins: pseudo and
drop first (they must win over the trigger they contain), then uncertainty (whose phrases
contain "not"), then negation, then scope ends.
"""

from __future__ import annotations

from audit.labels import Label
from audit.schema import Status
from models.rules.rule import Kind, Rule

Expect = tuple[tuple[Label, Status | None], ...]

_SEEN = (
    r"(?:seen|identified|present|demonstrated|appreciated|visualized|visualised|evident|noted|visible|"
    r"apparent|detected|observed|found)"
)


def _rule(rule_id: str, kind: Kind, pattern: str, comment: str, example: str, expect: Expect) -> Rule:
    return Rule(rule_id, kind, pattern, comment, example, expect)


PSEUDO: tuple[Rule, ...] = (
    _rule(
        "PSEUDO.NOT_ONLY",
        "pseudo",
        r"not\s+only",
        "'Not only' affirms what follows.",
        "Not only cardiomegaly but also a left effusion.",
        (("cardiomegaly", "present"), ("pleural_effusion", "present")),
    ),
    _rule(
        "PSEUDO.NO_CHANGE",
        "pseudo",
        r"(?:no|without)\s+(?:significant\s+|appreciable\s+|substantial\s+)?(?:interval\s+)?change(?:s)?"
        r"(?:\s+(?:in|of))?",
        "'No change in the effusion' reports an effusion that is still there.",
        "No change in the small left pleural effusion.",
        (("pleural_effusion", "present"),),
    ),
    _rule(
        "PSEUDO.NO_INCREASE",
        "pseudo",
        r"(?:no|without)\s+(?:significant\s+|interval\s+)?(?:increase|decrease|worsening|improvement|progression)"
        r"(?:\s+(?:in|of))?",
        "'No increase in the effusion' reports an effusion.",
        "No increase in the right pleural effusion.",
        (("pleural_effusion", "present"),),
    ),
    _rule(
        "PSEUDO.TO_SUGGEST",
        "mask",
        r"(?:to|which\s+would)\s+(?:suggest|indicate|represent)",
        "'No opacity to suggest pneumonia': the outer 'no' still denies pneumonia.",
        "No focal airspace opacity to suggest pneumonia.",
        (("lung_opacity", "absent"),),
    ),
    _rule(
        "PSEUDO.NOT_SEEN_BEFORE",
        "mask",
        r"(?:(?:is|are|was|were)\s+)?not\s+(?:well\s+|clearly\s+|previously\s+)?(?:seen|visible|appreciated|present|"
        r"evident|identified)\s+(?:on|in)\s+(?:the\s+)?(?:prior|previous|earlier|comparison)",
        "'Opacity, not seen on prior' reports a new finding: the 'not seen' is about the old film.",
        "Left lung opacity, not seen on the prior study.",
        (("lung_opacity", "present"),),
    ),
    _rule(
        "PSEUDO.GRAM_NEGATIVE",
        "pseudo",
        r"gram[\s-]negative",
        "'Gram-negative pneumonia' is not a negation.",
        "Gram-negative pneumonia.",
        (("lung_opacity", "present"),),
    ),
    _rule(
        "PSEUDO.NOT_CHANGED",
        "mask",
        r"(?:has|have)\s+not\s+(?:changed|resolved|improved)|not\s+(?:significantly\s+)?(?:changed|resolved|improved)",
        "'The effusion has not resolved' affirms it.",
        "The left effusion has not resolved.",
        (("pleural_effusion", "present"),),
    ),
)

DROP: tuple[Rule, ...] = (
    _rule(
        "DROP.NO_NEW",
        "drop",
        r"(?:no|without)\s+(?:(?:definite|evidence\s+of|significant)\s+)?(?:new|additional|further|developing)",
        "'No new consolidation' neither denies an existing one nor asserts one.",
        "No new consolidation.",
        (("lung_opacity", None),),
    ),
    _rule(
        "DROP.HISTORY_OF",
        "drop",
        r"(?:history|hx)\s+of|h/o|follow[\s-]?up\s+(?:of|for)|evaluat(?:e|ion)\s+(?:for|of)|(?:rule|r/o)\s+out|r/o",
        "'History of pneumonia' or 'evaluate for pneumonia' is the question, not a finding.",
        "History of pneumonia.",
        (("lung_opacity", None),),
    ),
    _rule(
        "DROP.PRIOR_FINDING",
        "drop",
        r"(?:previous|prior|old|remote|past|treated|sequelae?\s+of)(?=\s+(?:(?!study|exam|examination|"
        r"film|films|radiographs?|images?|comparison|ct|x-?rays?|chest|there|the|is|are|has|shows?)[\w-]+\s+){0,3}?"
        r"(?:pneumonia|consolidat|infiltrat|airspace|effusion|pneumothora|opacit))",
        "History read as history: 'consistent with previous active pulmonary tuberculosis pneumonia' or "
        "'prior pneumothorax' names a past finding, not a current one. It must stand within three "
        "words of the finding, so 'compared with the prior study, pneumonia ...' still reads the "
        "pneumonia. Only a canonical finding is so read: 'prior granulomatous disease' is a current "
        "abnormality (its sequelae are on the film).",
        "Apical scarring, consistent with previous active pulmonary tuberculosis pneumonia.",
        (("lung_opacity", None),),
    ),
    _rule(
        "DROP.COULD_OBSCURE",
        "drop",
        r"(?:could|may|might|can)\s+(?:obscure|hide|mask|conceal)",
        "'Overlap could obscure a nodule' speaks of what the film cannot show, not of a nodule.",
        "Bony overlap in the lung apices could obscure a small pulmonary nodule.",
        (("nodule_mass", None),),
    ),
)

UNCERTAINTY: tuple[Rule, ...] = (
    _rule(
        "UNC.HEDGE_AFTER",
        "unc_post",
        r"(?:suspected|questioned|presumed|possible|probable|likely|unlikely|less\s+likely|suggested|favou?red|"
        r"considered|not\s+excluded|difficult\s+to\s+exclude)(?=\s*(?:[.;:!?\n\r]|$))",
        "A hedge written after the finding, at the end of its clause: 'small bilateral pleural "
        "effusions suspected.', 'pneumonia unlikely.' Listed before UNC.POSSIBLE, which would read "
        "the same word as a hedge on what follows it.",
        "Lateral view somewhat limited, however small bilateral pleural effusions suspected.",
        (("pleural_effusion", "uncertain"),),
    ),
    _rule(
        "UNC.CANNOT_EXCLUDE",
        "unc_pre",
        r"(?:cannot|can\s*not|could\s+not|can't|unable\s+to)\s+(?:entirely\s+|completely\s+|definitely\s+)?"
        r"(?:exclude|rule\s+out)",
        "'Cannot exclude X' hedges X.",
        "Cannot exclude a small left effusion.",
        (("pleural_effusion", "uncertain"),),
    ),
    _rule(
        "UNC.NOT_EXCLUDED_POST",
        "unc_post",
        r"(?:(?:cannot|can\s*not|could\s+not|may\s+not)\s+be|(?:is|are)\s+not|not)\s+"
        r"(?:entirely\s+|completely\s+|totally\s+)?(?:excluded|ruled\s+out)",
        "'X cannot be excluded / is not excluded' hedges X.",
        "Pneumonia cannot be excluded.",
        (("lung_opacity", "uncertain"),),
    ),
    _rule(
        "UNC.POSSIBLE",
        "unc_pre",
        r"possible|possibly|probable|probably|questionable|question(?:\s+of)?|equivocal|presumed|unlikely|"
        r"suspect(?:ed)?|suspicious\s+(?:for|of)|suggest(?:s|ed|ing)?|suggestive\s+of|likely|"
        r"may\s+(?:represent|be|reflect|indicate|have)|might(?:\s+(?:represent|be))?|"
        r"could\s+(?:represent|be|reflect|indicate)|(?:are|is)\s+(?:thought|felt)\s+to\s+(?:represent|be)",
        "Hedges before a finding: 'possible', 'may represent', 'suggestive of', 'likely'.",
        "Possible right lower lobe pneumonia.",
        (("lung_opacity", "uncertain"),),
    ),
    _rule(
        "UNC.CONCERNING_FOR",
        "unc_pre",
        r"concern(?:ing)?\s+(?:for|of)|worr(?:isome|y)\s+for|(?:primary\s+)?differential\s+(?:diagnos[ie]s\s+|"
        r"considerations?\s+)?(?:includes?|of|would\s+include|are|is)|(?:diagnostic\s+)?considerations?\s+includes?|"
        r"consider(?:ed)?|cannot\s+be\s+differentiated\s+from|versus\s+underlying|atypical|early|developing|"
        r"evolving|(?:superimposed|underlying)\s+(?:infection|process)?",
        "'Concerning for', 'differential (considerations) include', 'early/evolving' hedge: a "
        "differential's every item is uncertain ('differential considerations include epicardial "
        "fat, pericardial mass, pleural mass').",
        "Findings concerning for pneumonia.",
        (("lung_opacity", "uncertain"),),
    ),
    _rule(
        "UNC.VERSUS",
        "unc_both",
        r"versus|vs\.?|and/or",
        "'Atelectasis versus pneumonia': both sides are hedged. After a mention it hedges only the "
        "mention right before it: in 'patchy left basilar opacity, atelectasis versus scarring' the "
        "alternatives are the opacity's causes, and the opacity stays affirmed (the parser's "
        "_context; golden draft opacity-cause-versus-not-a-hedge).",
        "Atelectasis versus pneumonia in the left base.",
        (("lung_opacity", "uncertain"),),
    ),
    _rule(
        "UNC.POSSIBLE_POST",
        "unc_post",
        r"(?:is|are)\s+(?:(?:felt|thought|considered)\s+(?:to\s+be\s+)?)?(?:possible|suspected|questioned|"
        r"likely|unlikely|less\s+likely|not\s+certain|uncertain|equivocal)|suspected|questioned|"
        r"(?:could|may|might)\s+(?:be\s+)?(?:present|represent|suggest)|(?:is|are)\s+(?:difficult|hard)\s+to\s+exclude",
        "'Effusion is possible' / 'pneumonia is suspected'.",
        "A small left effusion is possible.",
        (("pleural_effusion", "uncertain"),),
    ),
)

NEGATION: tuple[Rule, ...] = (
    _rule(
        "NEG.NO_EVIDENCE_OF",
        "neg_pre",
        r"no\s+(?:\w+\s+)?(?:evidence|signs?|findings?|suggestion|indication|features?|demonstration|"
        r"radiographic\s+evidence|xxxx)\s+(?:of|for|to\s+suggest)",
        "'No evidence of A, B, or C' denies all three (the scope runs to the clause end).",
        "No evidence of effusion, pneumothorax, or consolidation.",
        (("pleural_effusion", "absent"), ("pneumothorax", "absent"), ("lung_opacity", "absent")),
    ),
    _rule(
        "NEG.NEGATIVE_FOR",
        "neg_pre",
        r"negative\s+for|free\s+of|clear\s+of|absence\s+of|(?:interval\s+)?resolution\s+of|"
        r"removal\s+of|rather\s+than",
        "'Negative for', 'free of', 'absence of', 'resolution of'.",
        "Negative for pneumothorax.",
        (("pneumothorax", "absent"),),
    ),
    _rule(
        "NEG.WITHOUT",
        "neg_pre",
        r"without(?:\s+(?:evidence|signs?|findings?)\s+of)?|w/o",
        "'Without' and its abbreviation 'w/o'.",
        "Mild cardiomegaly without effusion.",
        (("cardiomegaly", "present"), ("pleural_effusion", "absent")),
    ),
    _rule(
        "NEG.NOT_SEEN_POST",
        "neg_post",
        r"(?:(?:is|are|was|were|has\s+been|have\s+been)\s+)?(?:not|no\s+longer)\s+(?:\w+ly\s+|well[\s-])?"
        + _SEEN,
        "'Pneumothorax is not seen', 'effusion no longer seen'.",
        "Pneumothorax is not seen.",
        (("pneumothorax", "absent"),),
    ),
    _rule(
        "NEG.RESOLVED_PRE",
        "neg_pre",
        r"(?:resolved|cleared)(?=\s+(?:[\w-]+\s+){0,4}?(?:pneumothora|effusion|consolidat|pneumonia|infiltrat|"
        r"opacit|airspace|nodul|mass))",
        "'Resolved left pneumothorax': resolved before the finding denies a current one (after "
        "it, NEG.RESOLVED_POST reads it).",
        "Resolved left pneumothorax.",
        (("pneumothorax", "absent"),),
    ),
    _rule(
        "NEG.RESOLVED_POST",
        "neg_post",
        r"(?:has|have)\s+(?:since\s+|now\s+|completely\s+|nearly\s+)?(?:resolved|cleared|disappeared)|"
        r"(?:is|are)\s+(?:now\s+)?(?:resolved|absent|gone|cleared)|resolved|no\s+longer\s+present|"
        r"(?:has|have)\s+been\s+removed|(?:was|were)\s+removed",
        "'The effusion has resolved' denies a current effusion; 'the chest tube has been removed' a "
        "current device.",
        "The left pleural effusion has resolved.",
        (("pleural_effusion", "absent"),),
    ),
    _rule(
        "NEG.NO",
        "neg_pre",
        r"no|not|nor|neither|never|none",
        "The plain determiner: 'no effusion', 'not a pneumothorax'.",
        "No pleural effusion or pneumothorax.",
        (("pleural_effusion", "absent"), ("pneumothorax", "absent")),
    ),
)

# What the reader says a mention is, when it is not its label (kind "explain", see ``rule``).
_LINK = (
    r"(?:(?:consistent|compatible)\s+with|represent(?:s|ing)?|reflect(?:s|ing)?|(?:most\s+)?likely(?:\s+(?:represents?|"
    r"reflects?|due\s+to))?|probably|probable|possibly|presumably|(?:may|might|could|can)\s+(?:be\s+)?"
    r"(?:represent|reflect|be|due\s+to|related\s+to|secondary\s+to|exaggerated\s+by)|(?:is|are)\s+(?:thought|felt|"
    r"favou?red|believed|likely)\s+to\s+(?:be|represent)|due\s+to|secondary\s+to|related\s+to|attributable\s+to|"
    r"attributed\s+to|caused\s+by|suggest(?:s|ing|ive\s+of)?|exaggerated\s+by)"
)
# Up to four words that do not name a finding of their own.
_EXPLAIN_GAP = (
    r"(?:\s+(?!(?:effusion|fluid|pneumo|nodul|mass|consolid|infiltrat|opacit|malignan|neoplas|tumou?r|cancer|"
    r"metasta|lesion|true|actual|real)\w*)[\w'-]+){0,4}?"
)
# Things a nodular or opaque shadow turns out to be that are neither a nodule nor lung.
_MIMIC = (
    r"(?:nipples?(?:\s+(?:shadows?|markers?|rings?))?|bone\s+islands?|enostos[ie]s|fractures?|costochondral|"
    r"sternoclavicular|costal\s+cartilage|overlap(?:ping)?|superimpos(?:ed|ition)|summation|confluence|"
    r"vessels?(?:\s+on\s+end)?|vascular(?:\s+(?:structures?|shadows?)|(?=\s*(?:[.,;:]|$)))|artifacts?|artifactual|"
    r"telemetry|leads|wires?|"
    r"soft[\s-]tissues?|skin(?:\s+folds?)?|osteophytes?|bones?|bony|ribs?|fat(?:\s+pads?)?|hair|braids?|"
    r"piercings?|jewelry|clothing|buttons?)"
)
_GRANULOMA = r"(?:(?:calcified\s+)?granulomas?|granulomatous|calcifi(?:ed|cations?))"

EXPLANATIONS: tuple[Rule, ...] = (
    Rule(
        "EXPLAIN.NOT_A_NODULE",
        "explain",
        _LINK
        + _EXPLAIN_GAP
        + r"\s+"
        + _MIMIC
        + r"|(?:is|are)\s+(?:(?:most\s+)?(?:likely|probably)\s+)?(?:an?\s+)?(?:artifacts?|artifactual|"
        r"nipples?(?:\s+shadows?)?)",
        "A nodule or opacity the reader explains as something that is neither: 'nodular opacity ... "
        "most likely nipple', 'nodular density ... represents a healing rib fracture', 'opacity ... "
        "related to superimposed soft tissues', 'opacities ... are artifactual'. It then reads as a "
        "non-canonical abnormality (so the study is still not called normal). A nodule named as a "
        "possibility after it ('... or actual pulmonary nodule') is read on its own, as uncertain.",
        "No acute disease. Nodular opacity overlying the left lung most likely represents the "
        "patient's nipple.",
        (("nodule_mass", None), ("lung_opacity", None), ("no_finding", "absent")),
        targets=frozenset({"nodule_mass", "lung_opacity"}),
    ),
    Rule(
        "EXPLAIN.GRANULOMA",
        "explain",
        _LINK + _EXPLAIN_GAP + r"\s+" + _GRANULOMA,
        "A nodular opacity or density, or an opacity, the reader names as granulomas: 'nodular "
        "densities consistent with chronic granulomatous disease' reads as OTHER.GRANULOMA, as "
        "'calcified granuloma' does. A 'nodule' so explained stays a nodule (MENTION.NODULE.NODULE).",
        "No acute disease. Nodular densities consistent with chronic granulomatous disease.",
        (("nodule_mass", None), ("no_finding", "absent")),
        targets=frozenset({"MENTION.NODULE.NODULAR_OPACITY", "lung_opacity"}),
    ),
    Rule(
        "EXPLAIN.BLUNTING_CAUSE",
        "explain",
        r"scar(?:ring|s)?|pleural(?:[\s-]parenchymal)?\s+(?:thickening|scarring|reaction)|thickening|atelecta(?:sis|tic)|"
        r"fat(?:\s+pads?)?|hyperinflation|hyperexpansion|emphysema|technique|positioning|fibrosis",
        "A blunted costophrenic angle is a sign; when its sentence names a cause, the cause decides: "
        "'Mild blunting left costophrenic recess, possibly mild atelectasis or scarring' is no "
        "effusion. An effusion named after it in its sentence is a cause too (the parser reads it as "
        "this rule without a trigger): 'blunting ... could be secondary to a small effusion versus "
        "scarring' is the hedged effusion (uncertain), 'blunting ... consistent with a small "
        "effusion' the affirmed one.",
        "No acute disease. Mild blunting left costophrenic recess, possibly mild atelectasis or scarring.",
        (("pleural_effusion", None), ("no_finding", "absent")),
        targets=frozenset({"MENTION.EFFUSION.BLUNTED_CPA"}),
    ),
)

TERMINATORS: tuple[Rule, ...] = (
    _rule(
        "TERM.BUT",
        "term",
        r"but|however|although|though|yet|except|aside\s+from|apart\s+from|other\s+than|whereas|while|"
        r"which|that\s+(?:is|are|may|could)",
        "'No cardiomegaly, but a small effusion': the denial stops at 'but'.",
        "No cardiomegaly, but a small right effusion.",
        (("cardiomegaly", "absent"), ("pleural_effusion", "present")),
    ),
    _rule(
        "TERM.THERE_IS",
        "term",
        r"there\s+(?:is|are)(?!\s+(?:no|not)\b)|(?:is|are)\s+(?:again\s+)?(?:seen|noted|present|identified)",
        "A new 'there is' (or 'is seen') starts an affirmed clause.",
        "No pneumothorax is identified and there is a small left effusion.",
        (("pneumothorax", "absent"), ("pleural_effusion", "present")),
    ),
    _rule(
        "TERM.COMMA_NEW_FINDING",
        "term",
        r"(?<=,\s)(?:small|mild|mildly|moderate|trace|minimal|tiny|severe|stable|persistent|unchanged|new|"
        r"increased|decreased|improved|worsening|there)",
        "After a comma, a size or course word opens a new, affirmed finding, not another item of "
        "a denied list ('large', as in 'no ... large effusion', is left out on purpose).",
        "No pneumothorax, small left effusion.",
        (("pneumothorax", "absent"), ("pleural_effusion", "present")),
    ),
)

MODIFIERS: tuple[Rule, ...] = PSEUDO + DROP + UNCERTAINTY + NEGATION + TERMINATORS
