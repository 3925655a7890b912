"""Scorecard experiments: electrical (registered with :func:`ionhomeo.scorecard.experiment`)."""
