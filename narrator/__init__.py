"""narrator: turn written articles into podcast episodes, offline."""

__version__ = "0.1.0"
