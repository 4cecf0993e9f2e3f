"""Multi-User Gymnasium: Gymnasium and PettingZoo environments as browser experiments.

This top-level module stays import-light on purpose: it ships inside the browser bundle too.
"""

__version__ = "0.1.0"
