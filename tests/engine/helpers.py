"""Helpers shared by the engine tests."""
import av


def checkpoint_frames(folder):
    """Every frame of the lossless chunks in a checkpoint `folder`, in order (HxWx3 uint8 RGB)."""
    frames = []
    for path in sorted(folder.glob("chunk-*.mkv")):
        with av.open(str(path)) as container:
            frames += [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return frames


def astronaut_photo(width: int, height: int):
    """scikit-image's astronaut photo area-resized to width x height (HxWx3 uint8 RGB)."""
    import cv2
    from skimage import data

    return cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_AREA)
