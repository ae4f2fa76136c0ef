"""lxcpy-oci's error for a refused config.json: one line, ``config.json: FIELD: why``."""


class SpecError(Exception):
    """One line: ``config.json: FIELD: why``."""
