"""lamina's version, in a module of its own: code inside the package quotes it without importing
the package's `__init__`, which imports everything. (`_version`, not `version`: `lamina.version`
is the function that returns it, as in Keras.)"""

__version__ = "0.1.0"
