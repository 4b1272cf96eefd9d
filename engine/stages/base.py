"""The Stage interface and the sliding window temporal stages share."""
from __future__ import annotations

from collections import deque
from fractions import Fraction
from typing import ClassVar, Iterable, Iterator, Sequence

import numpy as np

from engine.errors import RecipeError


# The `radius` of a stage whose output depends on every earlier frame (tracks, propagated colour).
# A resumed run restarts from the first frame, so its frames equal an uninterrupted run's, unless
# the stage keeps its state (`state_types`): then it goes on from the state kept with the last chunk.
WHOLE_CLIP = 1_000_000_000


class Stage:
    """A restoration step. Subclasses are dataclasses; their fields are the recipe's parameters."""

    name: ClassVar[str]
    # Neighbouring frames needed on each side (0 for a per-frame stage).
    radius: int = 0
    # What the stage does that others must know (the site labels generated colour, keeps
    # colouring in its own form, places colour before a frame-rate conversion).
    makes_color: ClassVar[bool] = False  # it generates colour the source did not have
    changes_frame_rate: ClassVar[bool] = False  # it makes more or fewer frames than it is given
    # Parameters that name files (reference photos, scribbles): a caller that stores recipes keeps
    # the files apart and fills these in when it runs the recipe.
    file_params: ClassVar[tuple[str, ...]] = ()
    # A whole-clip stage that can save and resume its state names here the classes its state is
    # made of (see `state`); the checkpoint reads a saved state back with nothing else.
    state_types: ClassVar[tuple[type, ...] | None] = None

    @property
    def needs_gpu(self) -> bool:
        """Whether this stage, with these parameters, runs a learned model too heavy to run at a
        usable speed on a CPU (the site sends such jobs to GPU workers). False for classical stages."""
        return False

    def validate(self) -> None:
        """Raise RecipeError naming the bad parameter."""

    def apply(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def bind(self, input_fps: float, times: list[float] | None = None) -> None:
        """Told the frame rate (and the frame times, in seconds) of its input before `apply`;
        stages that change the rate need them."""

    def rate_ratio(self) -> Fraction:
        """Output frames per input frame: 1, except for frame-rate conversion."""
        return Fraction(1)

    def output_fps(self, input_fps: float) -> float:
        return input_fps

    def provenance(self) -> dict:
        """What a version's record should say about how this stage ran: the learned models it used
        ({"models": [{"key", "sha256", "licence"}]}) and notes such as a fallback taken. Valid after
        `apply` has run; empty for classical stages."""
        return {}

    def state(self):
        """While `apply` runs, between two output frames: what the stage carries from the frames it
        has read, from which `resume` goes on exactly (pickled at once by the caller: it may share
        arrays the stage changes later). Only for stages with `state_types`."""
        raise NotImplementedError

    def resume(self, state) -> None:
        """The next `apply` goes on from `state`, given the frames after those `state` had read,
        and yields the frames after those it had yielded."""
        raise NotImplementedError

    @staticmethod
    def require(condition: bool, field: str, message: str) -> None:
        if not condition:
            raise RecipeError(f"{field}: {message}")


def windowed(items: Iterable, radius: int) -> Iterator[tuple[Sequence, int]]:
    """Yield (window, center) for each item: up to `radius` neighbours on each side, clipped at the ends.

    Holds at most 2*radius+1 items at a time.
    """
    buffer: deque = deque()
    center = 0  # index in the stream of the next item to yield
    first = 0  # index in the stream of buffer[0]
    for index, item in enumerate(items):
        buffer.append(item)
        while center + radius <= index:
            yield list(buffer), center - first
            center += 1
            while center - first > radius:
                buffer.popleft()
                first += 1
    while center < first + len(buffer):
        yield list(buffer), center - first
        center += 1
        while center - first > radius and buffer:
            buffer.popleft()
            first += 1
