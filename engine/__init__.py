"""The restoration library: video/image I/O, stages, pipeline. Never imports Django."""
