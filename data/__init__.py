"""The data layer: the DuckDB audit database, image loading, importers, the demo worklist, export.

- ``store``: :class:`data.store.Store`, the typed API over the database (``connection``
  holds the concurrency design, ``migrations`` the schema, ``summary`` and ``worklist``
  the worklist's table and query, ``records`` the pydantic records at the boundary);
- ``images``: PNG/JPEG/DICOM → 2-D uint8 plus what was done to it;
- ``importers``: NIH ChestX-ray14, VinDr-CXR, any folder;
- ``phantoms`` and ``demo``: the synthetic demo worklist;
- ``export``: reviewer feedback as CSV, Parquet or JSONL;
- ``errors``: the typed errors all of these raise.
"""
