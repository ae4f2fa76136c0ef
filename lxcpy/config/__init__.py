"""The ``lxc.*`` config language: a key table, a parser and the typed model it fills."""

from lxcpy.config.model import ContainerConfig
from lxcpy.config.parser import apply_overrides, parse_file, parse_text

__all__ = ["ContainerConfig", "apply_overrides", "parse_file", "parse_text"]
