"""Sources of the tutorial notebooks, one module per notebook (each defines ``CELLS``)."""
