"""The ``cxr-audit`` command line."""
