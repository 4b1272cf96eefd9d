"""RRDBNet (Real-ESRGAN x4plus): the network, and its detector for state dicts and ncnn graphs."""
