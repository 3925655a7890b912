"""Scorecard experiments: calcium (registered with :func:`ionhomeo.scorecard.experiment`)."""
