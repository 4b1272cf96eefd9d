"""Errors the engine raises for input a person can fix; their message is meant to be shown."""


class EngineError(Exception):
    """Base class: the message says what was wrong in words a user understands."""


class UnsupportedMedia(EngineError):
    """The file is not an image or video the engine can decode."""


class RecipeError(EngineError):
    """A recipe names an unknown stage or a bad parameter."""


class Cancelled(EngineError):
    """The caller asked the pipeline to stop."""
