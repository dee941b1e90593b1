"""Canonical labels and the per-dataset mapping tables."""

from __future__ import annotations

import pytest

from audit import labels


def test_the_six_canonical_labels() -> None:
    assert labels.LABELS == (
        "pleural_effusion",
        "pneumothorax",
        "lung_opacity",
        "nodule_mass",
        "cardiomegaly",
        "no_finding",
    )


@pytest.mark.parametrize("source", sorted(labels.SOURCE_TABLES))
def test_every_mapping_table_maps_into_the_canonical_labels(source: str) -> None:
    targets = {target for target in labels.SOURCE_TABLES[source].values() if target is not None}
    assert targets <= set(labels.LABELS)


MAPPINGS = {
    "NIH Infiltrate (bbox spelling)": ("nih", "Infiltrate", "lung_opacity"),
    "NIH Infiltration (data entry spelling)": ("nih", "Infiltration", "lung_opacity"),
    "NIH Mass": ("nih", "Mass", "nodule_mass"),
    "NIH Atelectasis has no counterpart": ("nih", "Atelectasis", None),
    "VinDr nodule/mass": ("vindr", "Nodule/Mass", "nodule_mass"),
    "VinDr aortic enlargement has no counterpart": ("vindr", "Aortic enlargement", None),
    "ChestX-Det Consolidation": ("chestx_det", "Consolidation", "lung_opacity"),
    "ChestX-Det diffuse nodules are not a focal nodule": ("chestx_det", "Diffuse Nodule", None),
    "IU MeSH normal": ("iu_mesh", "normal", "no_finding"),
    "NegBio Effusion": ("negbio", "Effusion", "pleural_effusion"),
    "an unknown name maps to nothing": ("nih", "Made Up", None),
}


@pytest.mark.parametrize(("source", "name", "expected"), MAPPINGS.values(), ids=MAPPINGS.keys())
def test_source_label_mapping(source: str, name: str, expected: str | None) -> None:
    assert labels.map_source_label(source, name) == expected


def test_mapping_many_names_reports_what_was_dropped() -> None:
    kept, dropped = labels.map_source_labels("nih", ["Effusion", "Atelectasis", "Mass", "Nodule", "Hernia"])
    assert kept == ["pleural_effusion", "nodule_mass"]
    assert dropped == ["Atelectasis", "Hernia"]


SYNONYMS = {
    "the published grounder's opacity label": ("lung_opacity_consolidation", "lung_opacity", True),
    "spaces and capitals": ("Pleural Effusion", "pleural_effusion", False),
    "a plain synonym": ("effusion", "pleural_effusion", True),
    "hyphens": ("nodule-mass", "nodule_mass", False),
    "unknown": ("fracture", None, False),
}


@pytest.mark.parametrize(("name", "label", "via_synonym"), SYNONYMS.values(), ids=SYNONYMS.keys())
def test_model_label_names_are_read_through_synonyms(name: str, label: str | None, via_synonym: bool) -> None:
    assert labels.canonical_label(name) == label
    assert labels.is_synonym(name) is via_synonym
