"""SRVGGNetCompact, Real-ESRGAN's compact network ("realesr-animevideov3"), with the module names
of the official checkpoints (`body.0` ... `body.N`), so an official state dict loads strictly.

A plain stack of 3x3 convolutions, each followed by a PReLU, ends in a convolution to
channels x upscale² and a pixel shuffle; the nearest-upsampled input is added. About 20x faster
than RRDBNet. The x2 and x3 ncnn files are the x4 network followed by a bicubic resize of its
output, which `output_scale` reproduces (it is not part of the state dict).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SRVGGNetCompact(nn.Module):
    """(N, in_channels, H, W) in 0-1 -> (N, in_channels, s*H, s*W), unclamped; s = `output_scale`,
    by default `upscale`."""

    def __init__(self, in_channels: int = 3, features: int = 64, convs: int = 16, upscale: int = 4,
                 output_scale: int | None = None):
        super().__init__()
        self.upscale = upscale
        self.scale = output_scale or upscale
        layers: list[nn.Module] = [nn.Conv2d(in_channels, features, 3, padding=1), nn.PReLU(features)]
        for _ in range(convs):
            layers += [nn.Conv2d(features, features, 3, padding=1), nn.PReLU(features)]
        layers.append(nn.Conv2d(features, in_channels * upscale * upscale, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.pixel_shuffle(self.body(x), self.upscale)
        out = out + F.interpolate(x, scale_factor=self.upscale, mode="nearest")
        if self.scale != self.upscale:
            height, width = x.shape[-2:]
            out = F.interpolate(out, size=(height * self.scale, width * self.scale), mode="bicubic",
                                align_corners=False)
        return out
