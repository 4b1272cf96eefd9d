"""Learned models: the registry of weight files, and our own PyTorch architectures that load them."""
