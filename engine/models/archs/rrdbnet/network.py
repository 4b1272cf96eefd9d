"""RRDBNet, Real-ESRGAN's generator (x4plus), with the module names of the official checkpoints
(`conv_first`, `body.N.rdbM.convK`, `conv_body`, `conv_up1`, `conv_up2`, `conv_hr`, `conv_last`),
so an official state dict loads strictly.

23 residual-in-residual dense blocks at the input's resolution, then two nearest x2 upsamplings
each followed by a convolution: x4. (The official x2 and x1 variants, which fold the input into
more channels first, are not built here: the loader refuses them with a message.)
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LEAKY_SLOPE = 0.2
RESIDUAL_SCALE = 0.2  # both the dense block and the RRDB scale their residual by 0.2


def _conv(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, padding=1)


class ResidualDenseBlock(nn.Module):
    def __init__(self, features: int, grow: int):
        super().__init__()
        # Each convolution sees the block input and every earlier output, concatenated.
        self.conv1 = _conv(features, grow)
        self.conv2 = _conv(features + grow, grow)
        self.conv3 = _conv(features + 2 * grow, grow)
        self.conv4 = _conv(features + 3 * grow, grow)
        self.conv5 = _conv(features + 4 * grow, features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seen = [x]
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            seen.append(F.leaky_relu(conv(torch.cat(seen, 1)), LEAKY_SLOPE))
        return self.conv5(torch.cat(seen, 1)) * RESIDUAL_SCALE + x


class RRDB(nn.Module):
    def __init__(self, features: int, grow: int):
        super().__init__()
        self.rdb1 = ResidualDenseBlock(features, grow)
        self.rdb2 = ResidualDenseBlock(features, grow)
        self.rdb3 = ResidualDenseBlock(features, grow)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * RESIDUAL_SCALE + x


class RRDBNet(nn.Module):
    """(N, in_channels, H, W) in 0-1 -> (N, out_channels, 4H, 4W), unclamped.

    Modules are declared in the order they run, which is the order of the ncnn graph's convolutions.
    """

    scale = 4

    def __init__(self, in_channels: int = 3, out_channels: int = 3, features: int = 64, blocks: int = 23,
                 grow: int = 32):
        super().__init__()
        self.conv_first = _conv(in_channels, features)
        self.body = nn.Sequential(*(RRDB(features, grow) for _ in range(blocks)))
        self.conv_body = _conv(features, features)
        self.conv_up1 = _conv(features, features)
        self.conv_up2 = _conv(features, features)
        self.conv_hr = _conv(features, features)
        self.conv_last = _conv(features, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        for conv in (self.conv_up1, self.conv_up2):
            feat = F.leaky_relu(conv(F.interpolate(feat, scale_factor=2, mode="nearest")), LEAKY_SLOPE)
        return self.conv_last(F.leaky_relu(self.conv_hr(feat), LEAKY_SLOPE))
