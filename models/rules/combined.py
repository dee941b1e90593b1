"""Many rules scanned in one pass, with the same meaning as their plain alternation.

A plain alternation of a hundred rules tries all of them at every word start. Here each
top-level alternative of each rule is indexed by the first two characters it can begin
with (read from the compiled pattern's parse tree), so a word start tries only the few
that could match there, in written order: at one position the first rule in ``rules``
order wins, and matches do not overlap, exactly as the alternation would give (a property
test checks it).

The text is matched lower-cased (``lowered``), without ``re.IGNORECASE``, which halves the
cost of a scan. Patterns are therefore written in lower case, and every alternative must
begin with a letter (checked when the scan is built).

``re._parser`` is the standard library's own regex parser (private but stable since 3.11);
it is used only at import time, to read what each pattern can begin with.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parser  # type: ignore[attr-defined]
from typing import Any, NamedTuple

from models.rules.rule import Rule


class Found(NamedTuple):
    """One rule's match: ``text[start:end]``."""

    rule: Rule
    start: int
    end: int


def split_alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of ``pattern`` ("a|(?:b|c)" gives "a" and "(?:b|c)")."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            current.append(pattern[index : index + 2])
            index += 2
            continue
        if char == "[":
            # A character class runs to the first unescaped "]" after its first member.
            close = index + 1
            if close < len(pattern) and pattern[close] == "^":
                close += 1
            close += 1
            while close < len(pattern) and pattern[close] != "]":
                close += 2 if pattern[close] == "\\" else 1
            current.append(pattern[index : close + 1])
            index = close + 1
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append("".join(current))
            current = []
            index += 1
            continue
        current.append(char)
        index += 1
    parts.append("".join(current))
    return parts


# Prefix sets larger than this are not worth indexing (a class like [a-z] twice over).
_PREFIX_LIMIT = 512
KEY_LENGTH = 3  # word starts are indexed by their first three characters


def _sequence_prefixes(items: Any, k: int) -> set[str] | None:
    """Every way the sequence can begin, cut to ``k`` characters; a shorter string means the
    sequence can end there. None when that is unknown (a category such as ``\\s``)."""
    finished: set[str] = set()
    partial = {""}
    for op, argument in items:
        finished |= {text for text in partial if len(text) >= k}
        partial = {text for text in partial if len(text) < k}
        if not partial:
            return finished
        item = _item_prefixes(op, argument, k)
        if item is None:
            return None
        partial = {(text + more)[:k] for text in partial for more in item}
        if len(partial) > _PREFIX_LIMIT:
            return None
    return finished | partial


# Every character ``\s`` matches in a str pattern (none lies above U+3000): a prefix may run
# through the space after a word ("is not"), so "is" need not be a key of its own.
_SPACES = frozenset(chr(code) for code in range(0x3001) if re.match(r"\s", chr(code)))


def _item_prefixes(op: Any, argument: Any, k: int) -> set[str] | None:
    if op is sre_constants.LITERAL:
        return {chr(argument)}
    if op is sre_constants.IN:
        chars: set[str] = set()
        for kind, value in argument:
            if kind is sre_constants.LITERAL:
                chars.add(chr(value))
            elif kind is sre_constants.RANGE and value[1] - value[0] < 128:
                chars.update(chr(code) for code in range(value[0], value[1] + 1))
            elif kind is sre_constants.CATEGORY and value is sre_constants.CATEGORY_SPACE:
                chars.update(_SPACES)
            else:  # another category or a negated class: anything
                return None
        return chars
    if op is sre_constants.BRANCH:
        union: set[str] = set()
        for alternative in argument[1]:
            found = _sequence_prefixes(alternative, k)
            if found is None:
                return None
            union |= found
        return union
    if op is sre_constants.SUBPATTERN:
        return _sequence_prefixes(argument[3], k)
    if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
        low, high, body = argument
        once = _sequence_prefixes(body, k)
        if once is None:
            return None
        result = {""} if low == 0 else set()
        current = {""}
        for count in range(1, min(high, max(low, k)) + 1):
            current = {(text + more)[:k] for text in current for more in once}
            if count >= low:
                result |= current
        return result
    if op in (sre_constants.AT, sre_constants.ASSERT, sre_constants.ASSERT_NOT):
        return {""}  # zero-width: a superset of the true beginnings is still correct
    return None


def prefixes(pattern: str) -> frozenset[str] | None:
    """The set of strings every match of ``pattern`` begins with, all of one length (up to
    KEY_LENGTH, as long as is known), or None when not even the first character is known."""
    items = sre_parser.parse(pattern)
    for k in range(KEY_LENGTH, 0, -1):
        found = _sequence_prefixes(items, k)
        if found is not None and found and all(len(text) == k for text in found):
            return frozenset(found)
    return None


# A compiled alternation's match method, and the rule of each of its groups (index 0 unused).
Candidates = tuple[Callable[..., "re.Match[str] | None"], tuple[Rule, ...]]


class CombinedPattern:
    """Scan a text once for every rule; ``scan`` gives (rule, start, end), leftmost first.

    Same result as one alternation of all rules tried at every word start (the first rule
    in written order wins at a position, matches do not overlap), but each word start tries
    only the rules that can begin with its first characters.
    """

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        entries: list[tuple[str, Rule, frozenset[str]]] = []
        for rule in self.rules:
            if re.compile(rule.pattern).groups:
                raise ValueError(f"rule {rule.id} has a capturing group; use (?:...)")
            # Each top-level alternative is its own entry, so "effusion|pleural fluid" is
            # tried only at words beginning "eff" or "ple".
            for alternative in split_alternatives(rule.pattern):
                begins = prefixes(alternative)
                if begins is None or not all(text[0].isalnum() or text[0] == "_" for text in begins):
                    raise ValueError(
                        f"rule {rule.id}: every alternative must begin with a letter ({alternative!r})"
                    )
                entries.append((alternative, rule, begins))
        self._entries = entries
        # One table per key length: a word start looks up its first three characters, then
        # two, then one; each table lists, in written order, every entry that accepts the key.
        self._tables: list[tuple[int, dict[str, tuple[int, ...]]]] = []
        for length in range(KEY_LENGTH, 0, -1):
            keys = {text for _, _, begins in entries for text in begins if len(text) == length}
            self._tables.append(
                (
                    length,
                    {
                        key: tuple(
                            index
                            for index, (_, _, begins) in enumerate(entries)
                            if len(next(iter(begins))) <= length and key[: len(next(iter(begins)))] in begins
                        )
                        for key in keys
                    },
                )
            )
        self._compiled: dict[tuple[int, ...], Candidates] = {}

    def candidates(self, key: str) -> Candidates | None:
        """What to try at a word whose first characters are ``key``: one pattern, the
        alternation of every entry that can begin so, in written order, and the rule of each
        of its groups; None when no entry can."""
        for length, table in self._tables:
            members = table.get(key[:length])
            if members is not None:
                if members not in self._compiled:
                    pattern = re.compile("|".join(rf"((?:{self._entries[i][0]})\b)" for i in members))
                    rules = (self.rules[0], *(self._entries[i][1] for i in members))  # groups count from 1
                    self._compiled[members] = (pattern.match, rules)
                return self._compiled[members]
        return None

    def scan(self, lowered: str, start: int, end: int) -> list[Found]:
        return MultiScan((self,)).scan(lowered, start, end)[0]


# Builds a Found without NamedTuple's Python-level __new__: a third of the cost, and the scan
# builds thirty per draft.
_new = tuple.__new__
# Distinct word beginnings remembered per MultiScan; past this the memory is cleared, so an
# adversarial stream of random words cannot grow it without bound.
_CACHE_LIMIT = 50_000


class MultiScan:
    """Several CombinedPatterns walked over the word starts together, once per text; each
    keeps its own non-overlapping matches. What to try is looked up once per distinct word
    beginning and remembered."""

    def __init__(self, scanners: Sequence[CombinedPattern]) -> None:
        self.scanners = tuple(scanners)
        self._cache: dict[str, tuple[Candidates | None, ...]] = {}
        # Only word starts that begin like some rule are visited: a third of report words
        # ("of", "in", "lobe") begin like none, and are skipped by the regex engine.
        keys = {key for scanner in self.scanners for _, table in scanner._tables for key in table}
        # The word is consumed, so the engine does not try each of its later letters.
        self._starts = re.compile(r"(?<!\w)(?=" + _trie(keys) + r")\w*")

    def _candidates(self, key: str) -> tuple[Candidates | None, ...]:
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        found = self._cache[key] = tuple(scanner.candidates(key) for scanner in self.scanners)
        return found

    def scan(self, lowered: str, start: int, end: int) -> list[list[Found]]:
        found: list[list[Found]] = [[] for _ in self.scanners]
        consumed = [start] * len(self.scanners)
        cache = self._cache
        for word in self._starts.finditer(lowered, start, end):
            position = word.start()
            key = lowered[position : position + KEY_LENGTH]
            per_scanner = cache.get(key) or self._candidates(key)
            for index, candidates in enumerate(per_scanner):
                if candidates is None or position < consumed[index]:
                    continue
                match = candidates[0](lowered, position, end)
                if match is not None:
                    found[index].append(
                        _new(Found, (candidates[1][match.lastindex or 0], position, match.end()))
                    )
                    consumed[index] = match.end()
        return found


def _trie(words: set[str]) -> str:
    """A regex matching any text that begins with one of ``words``, nested by character so
    the engine never tries the words one by one."""
    branches = []
    for char in sorted({word[0] for word in words}):
        rest = {word[1:] for word in words if word[0] == char}
        if "" in rest:  # the shorter word already admits every continuation
            branches.append(re.escape(char))
        else:
            branches.append(re.escape(char) + _trie(rest))
    return "(?:" + "|".join(branches) + ")"


def lowered(text: str) -> str:
    """``text`` in lower case, one character for one, so offsets into it are offsets into ``text``."""
    low = text.lower()
    if len(low) == len(text):
        return low
    # A few characters lower-case to two (the Turkish dotted capital I); keep those as they are.
    return "".join(char if len(char.lower()) != 1 else char.lower() for char in text)
