"""ECCV16 (Zhang et al., "Colorful Image Colorization"): the network and its detector."""
