"""mldata: a Make-like, incremental, content-hashed build system for machine-learning datasets."""

__version__ = "0.1.0"
