"""Looking inside a network: each layer's output for one sample, filters, saliency, statistics.

Imports nothing: probe.py loads torch; stats.py and tiles.py need only numpy.
"""
