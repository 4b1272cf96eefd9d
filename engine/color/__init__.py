"""Colorization of gray film and photos: color spaces that keep luminance exactly, an edge-aware
solver that spreads sparse chroma, temporal propagation along optical flow, transfer from
reference images, and our own code for the Zhang et al. 2016 network."""
