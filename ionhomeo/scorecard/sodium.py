"""Scorecard experiments: sodium (registered with :func:`ionhomeo.scorecard.experiment`)."""
