"""The one error type of the model layer, and its two kinds; every message is meant to be shown."""
from engine.errors import EngineError


class ModelLoadError(EngineError):
    """A learned model cannot be loaded; the message says which, why, and what to do."""


class ModelMissing(ModelLoadError):
    """A model's weight file is not installed (or the key is unknown); the message says where to get it."""


class ModelCorrupt(ModelLoadError):
    """A weight file is there but unusable: damaged, another version, or another network."""
