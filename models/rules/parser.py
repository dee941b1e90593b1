"""``RulesParser``: the default, deterministic draft parser (the ``rules`` backend).

The draft is first folded (``normalize``: invisible characters removed, full-width letters
and accents folded), and every offset found is mapped back to the draft. Per read section
(``sections``): one walk over the word starts finds every lexicon mention and every modifier
and side word (``combined``), one regex finds clause ends; each mention then takes the
nearest trigger in its clause (``modifiers``) and its side (``laterality``); a nodule,
opacity or blunted angle the sentence explains as something else reads as a non-canonical
abnormality (``modifiers.EXPLANATIONS``); and the conflicts between mentions of one label are
settled by ``precedence``. Every label keeps the id of the rule(s) that decided it
("MENTION.EFFUSION.EFFUSION|NEG.NO") and a span that is the draft's own text at its offsets.
Stdlib only; about 0.15 ms per full IU report on one core.

Span policy (rules and details in ``spans``): a finding's span is its phrase as a reader
would quote it, and always ``draft[start:end] == span``:
- the mention itself, plus the trigger that decided its status ("No pleural effusion",
  "Pneumothorax is not seen") and the side word its side was read from;
- plus the run of descriptors just before it (size, severity, character, location:
  "Spiculated mass", "Tiny apical pneumothorax", "4 mm right upper lobe nodule"), but not
  course words ("stable", "new", "increased") nor articles;
- plus the place phrase just after it ("mass in the left upper lobe", "pneumothorax on the
  right");
- never beyond its clause nor into another finding's mention. A statement ("The lungs are
  clear") is quoted as matched.
So "Spiculated mass in the left upper lobe." quotes "Spiculated mass in the left upper lobe",
and "Interval increase in small left pleural effusion." quotes "small left pleural effusion".
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right

from audit.pipeline import draft_problem
from audit.schema import DraftReading, ParseOutcome, Side, Status
from models.rules.combined import CombinedPattern, Found, MultiScan, lowered
from models.rules.laterality import AFTER_WINDOW, BEFORE_WINDOW, LATERALITY_RULES, SIDE_OF_RULE, combine
from models.rules.lexicon import BORDERLINE_RULE_ID, LEXICON
from models.rules.modifiers import EXPLANATIONS, MODIFIERS
from models.rules.normalize import fold
from models.rules.precedence import BACKEND, SIGN_RULES, Hit, resolve
from models.rules.sections import Region, read_regions
from models.rules.spans import widen
from models.settings import BackendSettings

# A trigger after its mention reaches back at most this far (characters): "pneumothorax or
# large pleural effusion is identified" is within it, an unrelated earlier clause is not.
POST_WINDOW = 60
# An explanation ("... consistent with a nipple shadow") reaches back at most this far, within
# its sentence: "nodular opacity projecting over the posterior right 9th rib reflects
# granuloma" is about 70.
EXPLAIN_WINDOW = 110
# Labels a side word is recorded for: the heart and "no finding" have no side.
_SIDED = frozenset({"pleural_effusion", "pneumothorax", "lung_opacity", "nodule_mass"})
_STATUS_OF_KIND: dict[str, Status] = {
    "neg_pre": "absent",
    "neg_post": "absent",
    "unc_pre": "uncertain",
    "unc_post": "uncertain",
    "unc_both": "uncertain",
}
_PRE_KINDS = frozenset({"neg_pre", "unc_pre", "unc_both", "drop", "pseudo"})
_POST_KINDS = frozenset({"neg_post", "unc_post", "unc_both"})


_LEXICON = CombinedPattern(LEXICON)
# Side words ride along with the modifiers: one pass finds triggers and sides.
_TRIGGERS = CombinedPattern(MODIFIERS + LATERALITY_RULES)
_SCAN = MultiScan((_LEXICON, _TRIGGERS))
# A clause ends at a full stop (not a decimal point nor "vs."), a semicolon, colon, "!" or a
# line break. A list number's stop ("2. No effusion") ends a clause too, so a denial never
# reaches back over the number into the item before it. Written to begin with a character
# class, so the engine skips to candidates.
# A comma straight after "seen" ends the clause too: in "no effusion seen, dense nodule in the
# left lung" the denial is over.
_CLAUSE_END_RE = re.compile(r"[.;:!\n\r](?<!\bvs\.)(?!(?<=\.)\d)")
# Kept apart from _CLAUSE_END_RE: one pattern for both searched three times slower.
_SEEN_COMMA_RE = re.compile(
    r",(?:(?<=\bseen,)|(?<=\bnoted,)|(?<=\bidentified,)|(?<=\bevident,)|(?<=\bdemonstrated,)"
    r"|(?<=\bvisualized,)|(?<=\bappreciated,))"
)
_SENTENCE_END_RE = re.compile(r"[.!\n\r](?<!\bvs\.)(?!(?<=\.)\d)")
# A sentence that opens by pointing back ("This may represent a nipple shadow.") explains the
# sentence before it.
_POINTS_BACK_RE = re.compile(
    r"[\s\d.)]*(?:this|these|it|they|the\s+(?:latter|finding|findings|opacity|density))\b"
)
_LIST_JOIN_RE = re.compile(r",|\band\b|\bor\b")
# What joins two alternatives for one opacity: "atelectasis versus/or/vs./and/or consolidation".
_ALTERNATIVE_RE = re.compile(
    r"\s*(?:versus|vs\.?|or|and/or|/)\s*(?:(?:early|superimposed|developing|focal)\s+)?"
)
_OK = ParseOutcome.ok()
# The mention rules an explanation can apply to (by rule id, or by label).
_EXPLAINABLE = frozenset(
    rule.id
    for rule in LEXICON
    if rule.kind == "finding"
    and any(rule.id in explain.targets or rule.label in explain.targets for explain in EXPLANATIONS)
)
# Each explanation, searched for from a word start after the mention it may explain.
_EXPLAIN_SEARCH = tuple((rule, re.compile(rf"(?<!\w)(?:{rule.pattern})\b")) for rule in EXPLANATIONS)
# The explain rule recorded when a sign is explained by its own label named after it.
_SIGN_EXPLAINED_BY = {
    rule_id: next(rule.id for rule in EXPLANATIONS if rule_id in rule.targets) for rule_id in SIGN_RULES
}


class RulesParser:
    """Lexicon plus NegEx-style negation and uncertainty; stdlib only. A reading depends on
    the draft alone (the scan's memo of candidate rules per word beginning changes speed,
    never results), so one instance may serve every thread."""

    name = BACKEND

    def __init__(self, borderline: Status = "present") -> None:
        """``borderline`` is the status "borderline cardiomegaly" reads as: the policy
        (MENTION.CARDIOMEGALY.BORDERLINE) is present; the benchmark also scores it as
        uncertain, to report both ways (and names itself so)."""
        self.borderline = borderline
        if borderline != "present":
            self.name = f"{BACKEND} (borderline {borderline})"

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> RulesParser:
        """The registry's factory; the rules backend has no settings to read."""
        del settings
        return cls()

    def parse(self, text: str) -> DraftReading:
        """Read one draft. An empty draft, one of invisible characters only, or one over
        MAX_DRAFT_CHARS, gives a failed outcome."""
        problem = draft_problem(text)
        folded = fold(text)
        if problem is None and not folded.text.strip():
            problem = "the draft holds only invisible (format) characters"
        if problem is not None:
            return DraftReading(backend=BACKEND, text=text, outcome=ParseOutcome.failed(problem, raw=None))
        hits: list[Hit] = []
        low = lowered(folded.text)
        for region in read_regions(folded.text):
            hits.extend(_read_region(low, region))
        if self.borderline != "present":
            hits = [
                hit._replace(status=self.borderline) if hit.rule_id == BORDERLINE_RULE_ID else hit
                for hit in hits
            ]
        if folded.origin is not None:
            hits = [hit._replace(start=folded.start(hit.start), end=folded.end(hit.end)) for hit in hits]
        return DraftReading(backend=BACKEND, text=text, labels=resolve(text, hits), outcome=_OK)


def _read_region(text: str, region: Region) -> list[Hit]:
    """The decided mentions in one region read; ``text`` is the lower-cased, folded draft."""
    start, end = region.start, region.end
    found_mentions, found_triggers = _SCAN.scan(text, start, end)
    if not found_mentions:
        return []
    mentions = found_mentions
    # A trigger inside a statement about the heart or lungs ("the heart is NOT enlarged") is
    # part of that statement, not a negation of what follows it. No-finding statements keep
    # theirs: "no acute disease or effusion" denies the effusion too.
    covered = [m for m in mentions if m.rule.kind == "statement" and m.rule.label != "no_finding"]
    triggers: list[Found] = []
    sides: list[tuple[int, int, Side]] = []
    # Both lists are in text order and statements do not overlap, so one pointer walks them.
    statement = 0
    for found in found_triggers:
        if found.rule.kind == "side":
            sides.append((found.start, found.end, SIDE_OF_RULE[found.rule.id]))
            continue
        while statement < len(covered) and covered[statement].end <= found.start:
            statement += 1
        if (
            statement < len(covered)
            and covered[statement].start <= found.start
            and found.end <= covered[statement].end
        ):
            continue
        triggers.append(found)
    ends = [start] + [c.start() for c in _CLAUSE_END_RE.finditer(text, start, end)]
    ends += [c.start() for c in _SEEN_COMMA_RE.finditer(text, start, end)]
    ends += [t.start for t in triggers if t.rule.kind == "term"]
    ends.sort()
    trigger_starts = [t.start for t in triggers]
    hits: list[Hit] = []
    # A sign explained by its own label named later ("blunted left costophrenic angle consistent
    # with a small effusion") hands its side to that mention.
    handed_side: dict[str, Side] = {}
    for position, mention in enumerate(mentions):
        rule = mention.rule
        if rule.kind == "statement":
            hits.append(
                Hit(
                    rule.label,
                    rule.status or "present",
                    mention.start,
                    mention.end,
                    rule.id,
                    None,
                    region.conclusion,
                )
            )
            continue
        clause_start = ends[bisect_right(ends, mention.start) - 1]
        after = bisect_left(ends, mention.end)
        clause_end = ends[after] if after < len(ends) else end
        next_mention = mentions[position + 1].start if position + 1 < len(mentions) else end
        status, span_start, span_end, rule_id = _context(
            text, mention, triggers, trigger_starts, clause_start, clause_end, next_mention
        )
        if status is None:
            continue
        label = rule.label
        if status != "absent" and rule.id in _EXPLAINABLE:
            explained = _explanation(text, mention, mentions, position, end)
            if explained is not None:
                label, rule_id = None, f"{rule_id}|{explained}"
        side: Side | None = None
        if rule.label in _SIDED:
            side, span_start, span_end = _side(
                text, position, mentions, sides, clause_start, clause_end, span_start, span_end
            )
            if label is None and side is not None and rule.id in SIGN_RULES:
                handed_side[rule.label] = side
            elif side is None and label is not None:
                side = handed_side.pop(label, None)
        if rule.kind == "finding":
            previous_end = mentions[position - 1].end if position > 0 else clause_start
            next_start = mentions[position + 1].start if position + 1 < len(mentions) else clause_end
            span_start, span_end = widen(
                text,
                span_start,
                span_end,
                mention.end,
                max(clause_start, previous_end),
                min(clause_end, next_start),
            )
        hits.append(Hit(label, status, span_start, span_end, rule_id, side, region.conclusion))
    return hits


def _explanation(text: str, mention: Found, mentions: list[Found], position: int, end: int) -> str | None:
    """The id of the ``explain`` rule that gives ``mention`` a cause other than its label:
    after it, within EXPLAIN_WINDOW, in its sentence or in the next one when that opens by
    pointing back ("This may represent ..."), with no other canonical finding between them.
    A sign (``SIGN_RULES``) is also explained by its own label named after it in its
    sentence ("blunting ... consistent with a small effusion")."""
    stop = _SENTENCE_END_RE.search(text, mention.end, end)
    sentence_end = stop.start() if stop is not None else end
    reach = sentence_end
    if reach < end and _POINTS_BACK_RE.match(text, reach + 1):
        stop = _SENTENCE_END_RE.search(text, reach + 1, end)
        reach = stop.start() if stop is not None else end
    reach = min(reach, mention.end + EXPLAIN_WINDOW)
    rule = mention.rule
    later = mentions[position + 1 :]
    if rule.id in SIGN_RULES and any(
        other.rule.label == rule.label and other.start < sentence_end for other in later
    ):
        return _SIGN_EXPLAINED_BY[rule.id]
    found: tuple[int, str] | None = None
    for explain, pattern in _EXPLAIN_SEARCH:
        if rule.label in explain.targets or rule.id in explain.targets:
            match = pattern.search(text, mention.end, reach)
            if match is not None and (found is None or match.start() < found[0]):
                found = (match.start(), explain.id)
    if found is None or any(
        other.start < found[0] and other.rule.kind == "finding" and other.rule.label != rule.label
        for other in later
    ):
        return None
    return found[1]


def _context(
    text: str,
    mention: Found,
    triggers: list[Found],
    trigger_starts: list[int],
    clause_start: int,
    clause_end: int,
    next_mention: int,
) -> tuple[Status | None, int, int, str]:
    """The mention's status from the nearest trigger in its clause, its span, and the rule id.

    The id is the mention rule's, joined by ``|`` to the modifier rule's when one decided
    the status ("MENTION.CARDIOMEGALY.NAME|NEG.NO"). A status of None means a ``drop`` rule
    says the mention is not a statement about its label. An alternative ("versus", "and/or")
    after the mention hedges it only when no other mention (``next_mention`` is where the
    next begins) stands between them: in "opacity at the left base, atelectasis versus
    scarring" the alternatives are the opacity's causes, and the opacity itself is affirmed.
    """
    pre: Found | None = None
    index = bisect_left(trigger_starts, mention.start) - 1
    while index >= 0 and triggers[index].start >= clause_start:
        candidate = triggers[index]
        if candidate.end <= mention.start and candidate.rule.kind in _PRE_KINDS:
            pre = candidate
            break
        index -= 1
    # A hedge inside a denial ("no findings suggestive of pneumonia") is still a denial: a
    # negation just before the hedge, with no list break between them, wins.
    if pre is not None and pre.rule.kind == "unc_pre":
        earlier = index - 1
        while earlier >= 0 and triggers[earlier].start >= clause_start:
            candidate = triggers[earlier]
            if candidate.rule.kind == "neg_pre":
                if not _LIST_JOIN_RE.search(text, candidate.end, pre.start):
                    pre = candidate
                break
            if candidate.rule.kind in _PRE_KINDS:
                break
            earlier -= 1
    post: Found | None = None
    index = bisect_left(trigger_starts, mention.end)
    while index < len(triggers) and triggers[index].start < clause_end:
        candidate = triggers[index]
        if candidate.start - mention.end > POST_WINDOW:
            break
        if candidate.rule.kind in _POST_KINDS and not (
            candidate.rule.kind == "unc_both" and next_mention < candidate.start
        ):
            post = candidate
            break
        index += 1
    chosen = pre
    if post is not None and (pre is None or post.start - mention.end < mention.start - pre.end):
        chosen = post
    if chosen is None:
        return "present", mention.start, mention.end, mention.rule.id
    if chosen.rule.kind == "pseudo":
        return "present", mention.start, mention.end, f"{mention.rule.id}|{chosen.rule.id}"
    if chosen.rule.kind == "drop":
        return None, mention.start, mention.end, chosen.rule.id
    status = _STATUS_OF_KIND[chosen.rule.kind]
    rule_id = f"{mention.rule.id}|{chosen.rule.id}"
    return status, min(chosen.start, mention.start), max(chosen.end, mention.end), rule_id


def _side(
    text: str,
    position: int,
    mentions: list[Found],
    sides: list[tuple[int, int, Side]],
    clause_start: int,
    clause_end: int,
    span_start: int,
    span_end: int,
) -> tuple[Side | None, int, int]:
    """The side named in the phrase of ``mentions[position]``, and its span widened to include
    the side word."""
    if not sides:
        return None, span_start, span_end
    mention = mentions[position]
    previous_end = mentions[position - 1].end if position > 0 else clause_start
    next_start = mentions[position + 1].start if position + 1 < len(mentions) else clause_end
    low = max(clause_start, previous_end, mention.start - BEFORE_WINDOW)
    found = [s for s in sides if low <= s[0] and s[1] <= mention.end]
    if not found and position > 0 and _is_alternative(text, mentions[position - 1], mention):
        # "Left basilar atelectasis versus consolidation": an alternative offered for the same
        # opacity shares the side named before the first alternative.
        previous = mentions[position - 1]
        before_previous = mentions[position - 2].end if position > 1 else clause_start
        low = max(clause_start, before_previous, previous.start - BEFORE_WINDOW)
        found = [s for s in sides if low <= s[0] and s[1] <= previous.start]
    if not found:
        high = min(clause_end, next_start, mention.end + AFTER_WINDOW)
        found = [s for s in sides if mention.end <= s[0] and s[1] <= high]
    if not found:
        return None, span_start, span_end
    side = combine({s[2] for s in found})
    return side, min(span_start, found[0][0]), max(span_end, found[-1][1])


def _is_alternative(text: str, previous: Found, mention: Found) -> bool:
    """Whether ``previous`` is offered as another reading of the same finding: a non-canonical
    abnormality or the same label, joined by "versus", "or", "vs." or "/"."""
    if previous.rule.kind != "other" and previous.rule.label != mention.rule.label:
        return False
    return _ALTERNATIVE_RE.fullmatch(text, previous.end, mention.start) is not None
