"""One folder per network architecture, each with the network's code and an `ARCH` entry: a
detector that recognises the network's weights by key names and shapes (or graph layers), and a
loader that builds the network from them (engine/models/descriptor.py). The loader asks each in
turn; nothing else needs to know which architectures there are.
"""
from __future__ import annotations

from typing import Any

from engine.models.archs.eccv16.detect import ARCH as ECCV16
from engine.models.archs.gpen.detect import ARCH as GPEN
from engine.models.archs.retinaface.detect import ARCH as RETINAFACE
from engine.models.archs.rrdbnet.detect import ARCH as RRDBNET
from engine.models.archs.srvgg.detect import ARCH as SRVGG
from engine.models.descriptor import Architecture

ARCHITECTURES: tuple[Architecture, ...] = (RRDBNET, SRVGG, GPEN, ECCV16, RETINAFACE)


def recognise(weights: Any) -> Architecture | None:
    """The architecture whose detector recognises `weights`, or None."""
    return next((arch for arch in ARCHITECTURES if arch.detect(weights)), None)
