"""The six canonical labels and how each source dataset's label names map onto them.

One place for these facts: every other module imports from here. A source label with
no canonical counterpart maps to ``None``; callers count what they drop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal, get_args

Label = Literal[
    "pleural_effusion",
    "pneumothorax",
    "lung_opacity",
    "nodule_mass",
    "cardiomegaly",
    "no_finding",
]
LABELS: tuple[Label, ...] = get_args(Label)
FINDING_LABELS: tuple[Label, ...] = tuple(label for label in LABELS if label != "no_finding")
DEFAULT_URGENT: tuple[Label, ...] = ("pneumothorax", "nodule_mass")

DISPLAY_NAMES: Mapping[Label, str] = {
    "pleural_effusion": "pleural effusion",
    "pneumothorax": "pneumothorax",
    "lung_opacity": "lung opacity",
    "nodule_mass": "nodule / mass",
    "cardiomegaly": "cardiomegaly",
    "no_finding": "no finding",
}

# Colours used wherever a label is drawn (overlays, highlighted draft phrases).
LABEL_COLOURS: Mapping[Label, str] = {
    "pleural_effusion": "#1f77b4",
    "pneumothorax": "#d62728",
    "lung_opacity": "#ff7f0e",
    "nodule_mass": "#9467bd",
    "cardiomegaly": "#2ca02c",
    "no_finding": "#7f7f7f",
}

# NIH ChestX-ray14 (Data_Entry_2017 "Finding Labels" and BBox_List_2017 "Finding Label").
NIH: Mapping[str, Label | None] = {
    "Effusion": "pleural_effusion",
    "Pneumothorax": "pneumothorax",
    "Infiltrate": "lung_opacity",  # BBox_List spelling
    "Infiltration": "lung_opacity",  # Data_Entry spelling
    "Consolidation": "lung_opacity",
    "Pneumonia": "lung_opacity",
    "Nodule": "nodule_mass",
    "Mass": "nodule_mass",
    "Cardiomegaly": "cardiomegaly",
    "No Finding": "no_finding",
    "Atelectasis": None,
    "Edema": None,
    "Emphysema": None,
    "Fibrosis": None,
    "Pleural_Thickening": None,
    "Hernia": None,
}

# VinDr-CXR train.csv "class_name" (local labels) and image-level labels.
VINDR: Mapping[str, Label | None] = {
    "Pleural effusion": "pleural_effusion",
    "Pneumothorax": "pneumothorax",
    "Lung Opacity": "lung_opacity",
    "Consolidation": "lung_opacity",
    "Infiltration": "lung_opacity",
    "Pneumonia": "lung_opacity",
    "Nodule/Mass": "nodule_mass",
    "Lung tumor": "nodule_mass",
    "Cardiomegaly": "cardiomegaly",
    "No finding": "no_finding",
    "Aortic enlargement": None,
    "Atelectasis": None,
    "Calcification": None,
    "ILD": None,
    "Other lesion": None,
    "Pleural thickening": None,
    "Pulmonary fibrosis": None,
    "Clavicle fracture": None,
    "Emphysema": None,
    "Enlarged PA": None,
    "Lung cavity": None,
    "Lung cyst": None,
    "Mediastinal shift": None,
    "Rib fracture": None,
    "Edema": None,
    "COPD": None,
    "Tuberculosis": None,
    "Other disease": None,
    "Other diseases": None,
}

# ChestX-Det (13 classes).
CHESTX_DET: Mapping[str, Label | None] = {
    "Effusion": "pleural_effusion",
    "Pneumothorax": "pneumothorax",
    "Consolidation": "lung_opacity",
    "Nodule": "nodule_mass",
    "Mass": "nodule_mass",
    "Cardiomegaly": "cardiomegaly",
    "Atelectasis": None,
    "Calcification": None,
    "Diffuse Nodule": None,  # miliary/diffuse pattern, not a focal nodule or mass
    "Emphysema": None,
    "Fibrosis": None,
    "Fracture": None,
    "Pleural Thickening": None,
}

# Indiana University / Open-i manual MeSH "major" terms (first term before any '/').
IU_MESH: Mapping[str, Label | None] = {
    "Pleural Effusion": "pleural_effusion",
    "Pneumothorax": "pneumothorax",
    "Opacity": "lung_opacity",
    "Consolidation": "lung_opacity",
    "Infiltrate": "lung_opacity",
    "Pneumonia": "lung_opacity",
    "Airspace Disease": "lung_opacity",
    "Pulmonary Disease": None,
    "Nodule": "nodule_mass",
    "Mass": "nodule_mass",
    "Lung/hyperdistention": None,
    "Cardiomegaly": "cardiomegaly",
    "normal": "no_finding",
    "Atelectasis": None,
    "Calcified Granuloma": None,
    "Granulomatous Disease": None,
    "Spondylosis": None,
    "Emphysema": None,
    "Scoliosis": None,
}

# NegBio OpenI gold standard columns (openi_gld_std14.csv).
NEGBIO: Mapping[str, Label | None] = {
    "Effusion": "pleural_effusion",
    "Pneumothorax": "pneumothorax",
    "Infiltration": "lung_opacity",
    "Consolidation": "lung_opacity",
    "Pneumonia": "lung_opacity",
    "Nodule": "nodule_mass",
    "Mass": "nodule_mass",
    "Cardiomegaly": "cardiomegaly",
    "normal": "no_finding",
    "Atelectasis": None,
    "Edema": None,
    "Emphysema": None,
    "Fibrosis": None,
    "Pleural_Thickening": None,
    "Hernia": None,
}

SOURCE_TABLES: Mapping[str, Mapping[str, Label | None]] = {
    "nih": NIH,
    "vindr": VINDR,
    "chestx_det": CHESTX_DET,
    "iu_mesh": IU_MESH,
    "negbio": NEGBIO,
}

# Names a model may emit instead of a canonical label. Keys are compared after
# normalisation (lower case, spaces/hyphens/slashes → underscores).
SYNONYMS: Mapping[str, Label] = {
    "lung_opacity_consolidation": "lung_opacity",  # the published fine-tuned grounder
    "opacity": "lung_opacity",
    "consolidation": "lung_opacity",
    "infiltrate": "lung_opacity",
    "infiltration": "lung_opacity",
    "pneumonia": "lung_opacity",
    "airspace_opacity": "lung_opacity",
    "airspace_disease": "lung_opacity",
    "effusion": "pleural_effusion",
    "pleural_fluid": "pleural_effusion",
    "ptx": "pneumothorax",
    "nodule": "nodule_mass",
    "mass": "nodule_mass",
    "nodule_or_mass": "nodule_mass",
    "lung_nodule": "nodule_mass",
    "pulmonary_nodule": "nodule_mass",
    "enlarged_heart": "cardiomegaly",
    "enlarged_cardiac_silhouette": "cardiomegaly",
    "normal": "no_finding",
    "none": "no_finding",
    "no_findings": "no_finding",
    "no_abnormality": "no_finding",
}


def normalise_name(name: str) -> str:
    """Lower-case a label name and join its words with underscores."""
    cleaned = name.strip().lower()
    for sep in (" ", "-", "/", "."):
        cleaned = cleaned.replace(sep, "_")
    while "__" in cleaned:
        cleaned = cleaned.replace("__", "_")
    return cleaned.strip("_")


def canonical_label(name: str) -> Label | None:
    """The canonical label a model's label name stands for, or None if it names none.

    Exact canonical names and the synonyms in ``SYNONYMS`` are accepted.
    """
    key = normalise_name(name)
    if key in LABELS:
        return key
    return SYNONYMS.get(key)


def is_synonym(name: str) -> bool:
    """True when ``name`` is accepted only through a synonym (callers record the repair)."""
    return normalise_name(name) not in LABELS and canonical_label(name) is not None


def map_source_label(source: str, name: str) -> Label | None:
    """Map one label name from a source dataset (``nih``, ``vindr``, ...) to a canonical label.

    Raises KeyError for an unknown source; an unknown name in a known source maps to None.
    """
    table = SOURCE_TABLES[source]
    return table.get(name.strip())


def map_source_labels(source: str, names: Iterable[str]) -> tuple[list[Label], list[str]]:
    """Map many source names; returns (canonical labels in order, unique) and the dropped names."""
    kept: list[Label] = []
    dropped: list[str] = []
    for name in names:
        label = map_source_label(source, name)
        if label is None:
            dropped.append(name)
        elif label not in kept:
            kept.append(label)
    return kept, dropped
