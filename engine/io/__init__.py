"""Media I/O: probing, streaming decode, browser-playable encode with audio kept."""
from engine.io.probe import MediaInfo, probe
from engine.io.image import read_image, write_image
from engine.io.video import (VideoEncoder, frame_times, is_variable_rate, mux_with_audio, read_video_frame,
                             read_video_frames, transcode_for_web)

__all__ = ["MediaInfo", "probe", "read_image", "write_image", "read_video_frames", "read_video_frame", "VideoEncoder", "mux_with_audio", "frame_times",
           "is_variable_rate", "transcode_for_web"]
