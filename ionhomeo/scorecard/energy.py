"""Scorecard experiments: energy (registered with :func:`ionhomeo.scorecard.experiment`)."""
