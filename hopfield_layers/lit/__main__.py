"""``python -m hopfield_layers.lit`` = the ``hopfield-layers`` command."""

from .cli import main

main()
