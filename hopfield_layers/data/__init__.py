"""Datasets and data modules. Everything reads from a data root (argument or ``$HOPFIELD_DATA``); nothing downloads unless
asked to (``download=True``)."""

from .paths import DataNotFoundError, data_root, require_file

__all__ = ["DataNotFoundError", "data_root", "require_file"]
