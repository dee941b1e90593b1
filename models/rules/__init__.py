"""The ``rules`` draft parser: a lexicon and NegEx-style modifiers kept as data.

Modules, each holding one concern:
- ``rule``: the ``Rule`` record every other module fills in;
- ``lexicon``: mention rules for the six labels, "normal statements", no-finding phrases and
  the non-canonical abnormalities that only matter because they contradict "no finding";
- ``modifiers``: negation, uncertainty, pseudo-negation and scope-ending rules, and the
  explanations that give a nodule, opacity or blunted angle a cause other than its label;
- ``normalize``: the folded text the rules match (invisible characters removed,
  compatibility forms folded) and the map back to the draft's own offsets;
- ``sections``: report headers and which sections are read;
- ``laterality``: which side a mention names (side words and lobes);
- ``spans``: how far a label's quoted phrase reaches (descriptors before, place after);
- ``precedence``: the written table that resolves conflicting mentions of one label;
- ``combined``: the one-pass scan that finds every rule's matches, indexed by word beginning;
- ``parser``: ``RulesParser``, which runs them all;
- ``benchmark``: the OpenI evaluation against NegBio's gold and the IU MeSH coding, used by
  ``bench.parser_openi`` and the CLI; ``benchmark_report`` prints its tables and the dev
  error list.
"""
