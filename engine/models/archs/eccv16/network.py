"""Our own PyTorch code for the network of Zhang, Isola and Efros, "Colorful Image Colorization"
(ECCV 2016), laid out so that the authors' released checkpoint (colorization_release_v2,
"eccv16") loads with strict key checking.

The network sees CIE L of a 256x256 copy of the frame, centred at 50 and divided by 100; eight
blocks of 3x3 convolutions (ReLU after each, batch norm closing blocks 1-7; blocks 5 and 6
dilated by 2; three stride-2 steps down, one transposed convolution up) end in a 1x1 convolution
to 313 logits per pixel at a quarter of the input size: a distribution over the quantized ab
gamut. `model_out`, a 1x1 convolution without bias from 313 to 2 channels, holds the ab centre
of each bin (divided by 110), so applying it to the softmax gives the distribution's mean. The
paper's "annealed mean" sharpens the distribution first (softmax of logits / T, T = 0.38): more
vivid and less brown than the plain mean (T = 1, what the authors' PyTorch demo returns).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional

BINS = 313
INPUT_SIZE = 256
L_CENTER, L_SCALE, AB_SCALE = 50.0, 100.0, 110.0
# Output channels of the eight blocks in the released network.
RELEASED_WIDTHS = (64, 128, 256, 512, 512, 512, 512, 256)
# (convolutions, stride of the last one, dilation) per block 1-7; batch norm closes each.
BLOCK_LAYOUT = ((2, 2, 1), (2, 2, 1), (3, 2, 1), (3, 1, 1), (3, 1, 2), (3, 1, 2), (3, 1, 1))
# Index of the last convolution of blocks 1-7 in the state dict (convolution, ReLU, ...).
LAST_CONV = {1: 2, 2: 2, 3: 4, 4: 4, 5: 4, 6: 4, 7: 4}


def _block(in_channels: int, out_channels: int, convolutions: int, last_stride: int, dilation: int) -> nn.Sequential:
    """Convolutions each followed by ReLU, then batch norm: indices 0, 2, 4... are the convolutions,
    the last index the norm, as in the released state dict."""
    layers: list[nn.Module] = []
    for i in range(convolutions):
        stride = last_stride if i == convolutions - 1 else 1
        layers += [nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, stride=stride,
                             padding=dilation, dilation=dilation), nn.ReLU(inplace=True)]
    layers.append(nn.BatchNorm2d(out_channels))
    return nn.Sequential(*layers)


class ColorfulColorization(nn.Module):
    """The ECCV16 network; `widths` other than the released ones make small models for tests."""

    def __init__(self, widths: tuple[int, ...] = RELEASED_WIDTHS):
        super().__init__()
        channels = 1
        for number, ((convolutions, stride, dilation), width) in enumerate(zip(BLOCK_LAYOUT, widths[:7]), start=1):
            setattr(self, f"model{number}", _block(channels, width, convolutions, stride, dilation))
            channels = width
        last = widths[7]
        self.model8 = nn.Sequential(
            nn.ConvTranspose2d(channels, last, 4, stride=2, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(last, last, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(last, last, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(last, BINS, 1),
        )
        self.model_out = nn.Conv2d(BINS, 2, 1, bias=False)

    def logits(self, lightness: torch.Tensor) -> torch.Tensor:
        """Nx313xH/4xW/4 bin logits for Nx1xHxW CIE L (0-100)."""
        x = (lightness - L_CENTER) / L_SCALE
        for number in range(1, 9):
            x = getattr(self, f"model{number}")(x)
        return x

    def forward(self, lightness: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """Nx2xHxW ab in Lab units: the mean of the bin distribution sharpened by `temperature`
        (1: the plain mean, as released; 0.38: the paper's annealed mean)."""
        distribution = torch.softmax(self.logits(lightness) / temperature, dim=1)
        ab = self.model_out(distribution) * AB_SCALE
        return functional.interpolate(ab, scale_factor=4, mode="bilinear", align_corners=False)


def width_keys() -> list[str]:
    """The state-dict entries whose shapes give the block widths (see widths_of)."""
    return [f"model{n}.{LAST_CONV[n]}.weight" for n in range(1, 8)] + ["model8.0.weight"]


def widths_of(state_dict: dict) -> tuple[int, ...]:
    """The block widths a state dict in the released key layout was made with."""
    widths = [int(state_dict[f"model{n}.{LAST_CONV[n]}.weight"].shape[0]) for n in range(1, 8)]
    widths.append(int(state_dict["model8.0.weight"].shape[1]))
    return tuple(widths)
