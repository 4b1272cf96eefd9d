"""Media I/O: probing, streaming decode, browser-playable encode with audio kept."""
from engine.io.probe import MediaInfo, probe
from engine.io.image import read_image, write_image
from engine.io.video import read_video_frames, VideoEncoder, mux_with_audio

__all__ = ["MediaInfo", "probe", "read_image", "write_image", "read_video_frames", "VideoEncoder", "mux_with_audio"]
