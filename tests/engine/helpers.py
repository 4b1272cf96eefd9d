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


# Two H.264 encodes of the same frames are not always the same here: x264's lookahead threads
# (mbtree) are not deterministic in this build, and two encodes of identical frames were measured
# to differ by up to 1.2 levels on average (39.8 dB at worst). Neighbouring frames of the test
# clips are 20 dB apart, so a frame that is not the reference's own is far below this.
SAME_FRAME_PSNR_DB = 37.0


def assert_same_encoded_frames(frames, reference) -> None:
    """`frames` decoded from an mp4 are `reference` (decoded from another encode of the same
    restored frames): as many, each within the encoder's run-to-run difference."""
    from engine.metrics import psnr

    assert len(frames) == len(reference), (len(frames), len(reference))
    worst = min(psnr(a, b) for a, b in zip(frames, reference))
    assert worst >= SAME_FRAME_PSNR_DB, f"a frame differs from the reference's: {worst:.1f} dB"
