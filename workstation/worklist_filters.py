"""The worklist's filters as a reviewer set them: what the Worklist page shows, and the order
the Review page's j/k/n walk.

The filter widgets keep their values with Streamlit's own mechanisms: ``bind="query-params"``
puts each in the URL under its key (so a reload or a shared link keeps the filters), and
``persist_state="session"`` keeps it in session state while another page is open. This
module names those keys and reads the values back from session state as one value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from audit.labels import FINDING_LABELS
from audit.schema import FLAG_TYPES
from data.records import CASE_STATUSES, WorklistQuery
from workstation.generated import DRAFT_CHOICE, filter_of

ANY = "any"
PHANTOM_CHOICES: dict[str, bool | None] = {ANY: None, "phantoms only": True, "real images only": False}
SORTS: dict[str, str] = {
    "urgent": "real images, then urgent first",
    "case_id": "case id",
    "recent": "recently audited",
}
PAGE_SIZES: tuple[int, ...] = (25, 50, 100, 200)

# Each filter's widget key, which is also its query parameter in the URL.
KEYS: dict[str, str] = {
    "status": "status",
    "label": "label",
    "flag_type": "flag",
    "source": "source",
    "reviewer": "by",
    "search": "q",
    "phantoms": "images",
    "sort": "sort",
    "page_size": "rows",
    "page": "page",
    "drafts": DRAFT_CHOICE,  # kept by the Worklist's Drafts filter (workstation.generated)
}


@dataclass(frozen=True)
class WorklistFilters:
    status: str = ANY
    label: str = ANY
    flag_type: str = ANY
    source: str = ANY
    reviewer: str = ANY
    search: str = ""
    phantoms: str = ANY
    sort: str = "urgent"
    page_size: int = 50
    page: int = 1  # counted from 1, as the page shows it
    drafts: str = ANY  # a draft kind or one generator's reports (workstation.generated's options)

    def query(self, *, paged: bool = True) -> WorklistQuery:
        """The store's query for these filters: this page of them, or (``paged=False``) the order only."""
        draft_kind, draft_author = filter_of(self.drafts)
        return WorklistQuery.model_validate(
            {
                "draft_kind": draft_kind,
                "draft_author": draft_author,
                "status": None if self.status == ANY else self.status,
                "label": None if self.label == ANY else self.label,
                "flag_type": None if self.flag_type == ANY else self.flag_type,
                "source": None if self.source == ANY else self.source,
                "reviewer": None if self.reviewer == ANY else self.reviewer,
                "search": self.search.strip() or None,
                "phantoms": PHANTOM_CHOICES[self.phantoms],
                "sort": self.sort,
                "page": max(0, self.page - 1) if paged else 0,
                "page_size": self.page_size,
            }
        )

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> WorklistFilters:
        """The filters as the Worklist's widgets left them in session state (defaults where unset)."""
        default = cls()
        values = {}
        for field in fields(cls):
            value = state.get(KEYS[field.name], getattr(default, field.name))
            values[field.name] = value if _valid(field.name, value) else getattr(default, field.name)
        return cls(**values)


_CHOICES: dict[str, tuple[Any, ...]] = {
    "status": (ANY, *CASE_STATUSES),
    "label": (ANY, *FINDING_LABELS),
    "flag_type": (ANY, *FLAG_TYPES),
    "phantoms": tuple(PHANTOM_CHOICES),
    "sort": tuple(SORTS),
    "page_size": PAGE_SIZES,
}


def _valid(name: str, value: Any) -> bool:
    if name in _CHOICES:
        return value in _CHOICES[name]
    if name == "page":
        return isinstance(value, int) and value >= 1
    return isinstance(value, str)
