"""One folder per network architecture, each with the network's code and an `ARCH` entry: a
detector that recognises the network's weights by key names and shapes (or graph layers), and a
loader that builds the network from them (engine/models/descriptor.py). The loader asks each in
turn; nothing else needs to know which architectures there are.
"""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.models.descriptor import Architecture


@lru_cache(maxsize=None)
def architectures() -> tuple[Architecture, ...]:
    """Every architecture, in the order the loader asks them, imported at the first call: their
    networks need torch, and this package is imported by processes that run none (the web server
    reads the recipes, whose face stage uses retinaface.priors, plain numpy)."""
    from engine.models.archs.eccv16.detect import ARCH as ECCV16
    from engine.models.archs.gpen.detect import ARCH as GPEN
    from engine.models.archs.retinaface.detect import ARCH as RETINAFACE
    from engine.models.archs.rrdbnet.detect import ARCH as RRDBNET
    from engine.models.archs.srvgg.detect import ARCH as SRVGG

    return (RRDBNET, SRVGG, GPEN, ECCV16, RETINAFACE)


def recognise(weights: Any) -> Architecture | None:
    """The architecture whose detector recognises `weights`, or None."""
    return next((arch for arch in architectures() if arch.detect(weights)), None)
