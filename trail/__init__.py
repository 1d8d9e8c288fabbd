"""Trail: the pure-Python core shared by the Trailhub server and its clients."""

__version__ = "0.1.0"
