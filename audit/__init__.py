"""CXR Draft Auditor's pure core: labels, schema, boxes, recovery, comparator, metrics.

Imports only the standard library, numpy and pydantic.
"""

DISCLAIMER = (
    "Research and education only. Not a medical device: the auditor never diagnoses; "
    "its flags send a person back to look again."
)
