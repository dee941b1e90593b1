"""Make and choose a grounder: a curated SFT corpus, QLoRA fine-tuning, a verified merge, and
held-out comparisons of grounders.

The corpus, curation, grounding runs and comparisons are pure (standard library, numpy,
pydantic and the importers' readers); torch, transformers, trl and peft are imported only
inside training and merging.
"""
