"""The campaign model: definitions, the file format, the catalogue and alerts."""
