"""SRVGGNetCompact (Real-ESRGAN animevideov3): the network, and its detector for state dicts and ncnn graphs."""
