"""The one error a bad file raises: it says which file and what is wrong with it."""


class FileFormatError(ValueError):
    """A saved file that is truncated, corrupted, or does not fit the model it is loaded into.

    Examples:
        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = os.path.join(folder, "broken.keras")
        ...     _ = open(path, "wb").write(b"not a zip archive")
        ...     try:
        ...         lamina.models.load_model(path)
        ...     except FileFormatError:
        ...         print("refused")
        refused
    """


class MissingFileError(FileNotFoundError, ValueError):
    """No file where a model or weights are loaded from. A `FileNotFoundError`, and a
    `ValueError` as Keras raises it, so that either `except` catches it.

    Examples:
        >>> try:
        ...     lamina.models.load_model("no_such_model.keras")
        ... except ValueError as error:
        ...     print(isinstance(error, FileNotFoundError))
        True
    """
