"""Training loops that reproduce the bundled weights (``sc2sim train ...``)."""
