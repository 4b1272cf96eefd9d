"""Learned models: the weight registry, one loader, and our own networks, one folder each.

- spec.py, catalog.py, registry.py: what each model's files are (catalog, data only), where they
  are found and whether they are intact (registry; `configure(models_dir=...)`).
- loader.py: `load_model(key)`, the only way a network is loaded, cached once per process.
- archs/<architecture>/: the network's code and the detector that recognises its weights.
- descriptor.py: what every architecture gives back (ModelDescriptor); errors.py: ModelLoadError.
- ncnn.py, onnx.py: readers of the file formats that are not PyTorch's.
- tiling.py: running a super-resolution network tile by tile.
"""
