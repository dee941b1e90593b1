"""Importers: NIH ChestX-ray14, VinDr-CXR, and any folder of images. Each is idempotent."""
