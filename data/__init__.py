"""The data layer: the DuckDB audit database, image loading, importers, the demo worklist, export.

- ``connection``: :class:`data.connection.Database`, the connection and its concurrency
  design (``read()``, ``transaction()``, bounded retries, idle release); ``migrations`` the
  ordered, named schema steps;
- ``store``: :class:`data.store.Store`, the database with one attribute per record family:
  ``cases`` (with reference findings), ``drafts``, ``audits``, ``decisions``,
  ``reviewer_findings``, ``eval_runs``, ``comparisons``, each a module over ``sql`` (rows
  mapped to ``records`` by column name);
- ``summary`` keeps the per-case worklist row current inside every write; ``worklist``,
  ``export`` and ``review_stats`` are functions that take the database;
- ``images``: PNG/JPEG/DICOM → 2-D uint8 plus what was done to it;
- ``importers``: NIH ChestX-ray14, VinDr-CXR, any folder;
- ``phantoms`` and ``demo``: the synthetic demo worklist;
- ``export``: reviewer feedback as CSV, Parquet or JSONL;
- ``errors``: the typed errors all of these raise.
"""
