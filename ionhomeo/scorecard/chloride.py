"""Scorecard experiments: chloride (registered with :func:`ionhomeo.scorecard.experiment`)."""
