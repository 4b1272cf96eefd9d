"""GPEN face restoration: a U-shaped encoder whose features feed a StyleGAN2 decoder.

The module and parameter names follow the layout of the official GPEN-BFR-*.pth checkpoints, so
they load with strict checking and no renaming. Everything runs as plain PyTorch ops (no compiled
extensions): the "fused" leaky ReLU is a bias add + leaky ReLU + gain, and the FIR up/down
sampling is a zero-insertion, pad and depthwise convolution.

The network is deterministic: the decoder's "noise" inputs are the encoder's feature maps
(concatenated to the decoder's), never random noise, so a face gives the same result on every
frame it appears in, which is what keeps restored faces stable in video.

Conventions: aligned RGB face crops of the model's size, scaled to [-1, 1]; the output is RGB in
about [-1, 1], unclamped (engine/models/archs/gpen/run.py: restore_faces clamps it).
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

BLUR_TAPS = (1, 3, 3, 1)
LEAKY_SLOPE = 0.2
LEAKY_GAIN = math.sqrt(2)  # keeps the activations' variance after the leaky ReLU


def channel_table(channel_multiplier: float, narrow: float) -> dict[int, int]:
    """Feature channels at each resolution, shared by the encoder and the decoder."""
    wide = int(512 * narrow)
    table = {4: wide, 8: wide, 16: wide, 32: wide}
    for log_res, base in zip(range(6, 12), (256, 128, 64, 32, 16, 8)):
        table[2 ** log_res] = int(base * channel_multiplier * narrow)
    return table


def fir_kernel(taps=BLUR_TAPS, gain: float = 1.0) -> torch.Tensor:
    """A separable 2-D low-pass kernel that sums to `gain`."""
    row = torch.tensor(taps, dtype=torch.float32)
    kernel = row[None, :] * row[:, None]
    return kernel / kernel.sum() * gain


def upfirdn2d(x: torch.Tensor, kernel: torch.Tensor, up: int = 1, down: int = 1,
              pad: tuple[int, int] = (0, 0)) -> torch.Tensor:
    """Upsample by zero insertion, pad (negative pads crop), filter with `kernel`, then subsample."""
    batch, channels, height, width = x.shape
    if up > 1:
        spread = x.new_zeros(batch, channels, height * up, width * up)
        spread[:, :, ::up, ::up] = x
        x = spread
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    # A true convolution (flipped kernel), one filter per channel.
    weight = torch.flip(kernel, [0, 1]).to(x.dtype).expand(channels, 1, *kernel.shape)
    return F.conv2d(x, weight, stride=down, groups=channels)


def leaky_relu_with_bias(x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    bias = bias.view(1, -1, *([1] * (x.ndim - 2)))
    return F.leaky_relu(x + bias, LEAKY_SLOPE) * LEAKY_GAIN


class PixelNorm(nn.Module):
    def forward(self, x):
        return x * torch.rsqrt(torch.mean(x ** 2, dim=1, keepdim=True) + 1e-8)


class FusedLeakyReLU(nn.Module):
    """Per-channel bias, leaky ReLU and gain (the checkpoint keeps the bias here, not in the conv)."""

    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        return leaky_relu_with_bias(x, self.bias)


class Blur(nn.Module):
    def __init__(self, pad: tuple[int, int], gain: float = 1.0):
        super().__init__()
        self.register_buffer("kernel", fir_kernel(gain=gain))
        self.pad = pad

    def forward(self, x):
        return upfirdn2d(x, self.kernel, pad=self.pad)


class Upsample(nn.Module):
    """2x FIR upsampling of the RGB skip image."""

    def __init__(self, factor: int = 2):
        super().__init__()
        self.factor = factor
        self.register_buffer("kernel", fir_kernel(gain=factor ** 2))
        spare = len(BLUR_TAPS) - factor
        self.pad = ((spare + 1) // 2 + factor - 1, spare // 2)

    def forward(self, x):
        return upfirdn2d(x, self.kernel, up=self.factor, pad=self.pad)


class EqualLinear(nn.Module):
    """A linear layer whose weights are scaled at run time (equalized learning rate)."""

    def __init__(self, in_dim: int, out_dim: int, bias_init: float = 0.0, lr_mul: float = 1.0,
                 activate: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init)))
        self.scale = lr_mul / math.sqrt(in_dim)
        self.lr_mul = lr_mul
        self.activate = activate

    def forward(self, x):
        bias = self.bias * self.lr_mul
        if self.activate:
            return leaky_relu_with_bias(F.linear(x, self.weight * self.scale), bias)
        return F.linear(x, self.weight * self.scale, bias)


class EqualConv2d(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.scale = 1 / math.sqrt(in_channels * kernel_size ** 2)
        self.stride = stride
        self.padding = padding

    def forward(self, x):
        return F.conv2d(x, self.weight * self.scale, self.bias, stride=self.stride, padding=self.padding)


class ConvLayer(nn.Sequential):
    """Encoder layer: [blur + stride-2] conv, then bias + leaky ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, downsample: bool = False):
        layers: list[nn.Module] = []
        if downsample:
            spare = len(BLUR_TAPS) - 2 + kernel_size - 1
            layers.append(Blur(pad=((spare + 1) // 2, spare // 2)))
            layers.append(EqualConv2d(in_channels, out_channels, kernel_size, stride=2, bias=False))
        else:
            layers.append(EqualConv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2,
                                      bias=False))
        layers.append(FusedLeakyReLU(out_channels))
        super().__init__(*layers)


class ModulatedConv2d(nn.Module):
    """StyleGAN2 convolution: the style scales the input channels, then each output is demodulated.

    Scaling the input and the output per sample is the same as scaling the weights per sample,
    and lets the whole batch share one ordinary convolution.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, style_dim: int,
                 demodulate: bool = True, upsample: bool = False):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.demodulate = demodulate
        self.upsample = upsample
        self.scale = 1 / math.sqrt(in_channels * kernel_size ** 2)
        self.padding = kernel_size // 2
        self.weight = nn.Parameter(torch.randn(1, out_channels, in_channels, kernel_size, kernel_size))
        self.modulation = EqualLinear(style_dim, in_channels, bias_init=1)
        if upsample:
            # The transposed convolution leaves a 2x image one kernel wider; this blur trims it back.
            spare = len(BLUR_TAPS) - 2 - (kernel_size - 1)
            self.blur = Blur(pad=((spare + 1) // 2 + 1, spare // 2 + 1), gain=4)

    def forward(self, x, style):
        in_scale = self.modulation(style)  # (batch, in_channels)
        weight = self.weight[0] * self.scale  # (out, in, k, k)
        x = x * in_scale[:, :, None, None].to(x.dtype)
        if self.upsample:
            out = F.conv_transpose2d(x, weight.transpose(0, 1), stride=2)
            out = self.blur(out)
        else:
            out = F.conv2d(x, weight, padding=self.padding)
        if self.demodulate:
            # 1 / norm of each sample's modulated filter, in float32 so fp16 cannot overflow.
            energy = weight.float().pow(2).sum(dim=(2, 3))  # (out, in)
            demod = torch.rsqrt(in_scale.float().pow(2) @ energy.t() + 1e-8)  # (batch, out)
            out = out * demod[:, :, None, None].to(out.dtype)
        return out


class NoiseInjection(nn.Module):
    """Appends the weighted encoder features of the same resolution to the decoder features.

    Where StyleGAN2 injects random noise, GPEN injects the encoder's features, so nothing random
    enters the network.
    """

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, image, features):
        return torch.cat((image, self.weight * features), dim=1)


class StyledConv(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, style_dim: int, upsample: bool = False):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, 3, style_dim, upsample=upsample)
        self.noise = NoiseInjection()
        self.activate = FusedLeakyReLU(out_channels * 2)  # decoder + encoder channels

    def forward(self, x, style, features):
        return self.activate(self.noise(self.conv(x, style), features))


class ToRGB(nn.Module):
    def __init__(self, in_channels: int, style_dim: int, upsample: bool = True):
        super().__init__()
        if upsample:
            self.upsample = Upsample()
        self.conv = ModulatedConv2d(in_channels, 3, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x, style, skip=None):
        out = self.conv(x, style) + self.bias
        if skip is not None:
            out = out + self.upsample(skip)
        return out


class ConstantInput(nn.Module):
    def __init__(self, channels: int, size: int = 4):
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channels, size, size))

    def forward(self, batch: int):
        return self.input.expand(batch, -1, -1, -1)


class Generator(nn.Module):
    """The StyleGAN2 decoder: a mapping MLP, a learned 4x4 start, then two convs per doubling."""

    def __init__(self, size: int, style_dim: int, n_mlp: int, channel_multiplier: float,
                 narrow: float, lr_mlp: float):
        super().__init__()
        self.size = size
        self.log_size = int(math.log2(size))
        channels = channel_table(channel_multiplier, narrow)
        self.style = nn.Sequential(PixelNorm(), *(
            EqualLinear(style_dim, style_dim, lr_mul=lr_mlp, activate=True) for _ in range(n_mlp)))
        self.input = ConstantInput(channels[4])
        self.conv1 = StyledConv(channels[4], channels[4], style_dim)
        self.to_rgb1 = ToRGB(channels[4] * 2, style_dim, upsample=False)
        self.convs = nn.ModuleList()
        self.upsamples = nn.ModuleList()  # unused; kept so the module tree matches the checkpoints
        self.to_rgbs = nn.ModuleList()
        in_channels = channels[4]
        for log_res in range(3, self.log_size + 1):
            out_channels = channels[2 ** log_res]
            self.convs.append(StyledConv(in_channels * 2, out_channels, style_dim, upsample=True))
            self.convs.append(StyledConv(out_channels * 2, out_channels, style_dim))
            self.to_rgbs.append(ToRGB(out_channels * 2, style_dim))
            in_channels = out_channels

    def forward(self, code, features):
        """`code`: (batch, style_dim); `features`: encoder maps from 4x4 up to size x size.

        One style vector drives every layer (no style mixing at inference).
        """
        style = self.style(code)
        out = self.conv1(self.input(code.shape[0]), style, features[0])
        skip = self.to_rgb1(out, style)
        for index, feature in enumerate(features[1:]):
            out = self.convs[2 * index](out, style, feature)
            out = self.convs[2 * index + 1](out, style, feature)
            skip = self.to_rgbs[index](out, style, skip)
        return skip


class FullGenerator(nn.Module):
    """GPEN: the encoder halves the face down to 4x4; its last map becomes the style code and each
    of its maps is concatenated into the decoder layers of the same resolution."""

    def __init__(self, size: int, style_dim: int = 512, n_mlp: int = 8, channel_multiplier: float = 2,
                 narrow: float = 1, lr_mlp: float = 0.01):
        super().__init__()
        if size < 8 or size & (size - 1) or size > 2048:
            raise ValueError(f"GPEN size must be a power of two from 8 to 2048, not {size}")
        self.size = size
        self.log_size = int(math.log2(size))
        channels = channel_table(channel_multiplier, narrow)
        self.generator = Generator(size, style_dim, n_mlp, channel_multiplier, narrow, lr_mlp)
        self.ecd0 = nn.Sequential(ConvLayer(3, channels[size], 1))
        in_channels = channels[size]
        for index, log_res in enumerate(range(self.log_size - 1, 1, -1), start=1):
            out_channels = channels[2 ** log_res]
            setattr(self, f"ecd{index}", nn.Sequential(ConvLayer(in_channels, out_channels, 3, downsample=True)))
            in_channels = out_channels
        self.final_linear = nn.Sequential(EqualLinear(channels[4] * 4 * 4, style_dim, activate=True))

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        """(batch, 3, size, size) RGB in [-1, 1] -> restored faces, same shape, unclamped."""
        features = []
        x = faces
        for index in range(self.log_size - 1):
            x = getattr(self, f"ecd{index}")(x)
            features.append(x)
        code = self.final_linear(x.flatten(1))
        return self.generator(code, features[::-1])
