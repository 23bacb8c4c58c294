"""The one error a bad file raises: it says which file and what is wrong with it."""


class FileFormatError(ValueError):
    """A saved file that is truncated, corrupted, or does not fit the model it is loaded into."""
