"""Task models built on the library's similarities, separations and modules."""
