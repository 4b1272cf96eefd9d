"""GPEN face restoration: a U-shaped encoder whose features feed a StyleGAN2 decoder.

The module and parameter names follow the layout of the official GPEN-BFR-*.pth checkpoints, so
they load with strict checking and no renaming. Everything runs as plain PyTorch ops (no compiled
extensions): the "fused" leaky ReLU is a bias add + leaky ReLU + gain, and the FIR up/down
sampling is a zero-insertion, pad and depthwise convolution.

The network is deterministic: the decoder's "noise" inputs are the encoder's feature maps
(concatenated to the decoder's), never random noise, so a face gives the same result on every
frame it appears in, which is what keeps restored faces stable in video.

Conventions: aligned RGB face crops of the model's size, scaled to [-1, 1]; the output is RGB in
about [-1, 1], unclamped (restore_faces clamps it).
"""
from __future__ import annotations

import math
import threading
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from engine.models import registry
from engine.models.registry import ModelCorrupt

SIZES = (256, 512, 1024, 2048)
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


# --- loading and running -------------------------------------------------------------------

_models: dict[tuple, FullGenerator] = {}
_models_lock = threading.Lock()


def _default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _check_layout(model: nn.Module, state: dict, title: str, path) -> None:
    """Raise ModelCorrupt naming the first differences when `state` is not this architecture's."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong_shape = [f"{name} {tuple(state[name].shape)} (expected {tuple(expected[name].shape)})"
                   for name in expected if name in state and tuple(state[name].shape) != tuple(expected[name].shape)]
    problems = []
    for label, names in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong_shape)):
        if names:
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            problems.append(f"{label}: {shown}")
    if problems:
        raise ModelCorrupt(f"{title}: {path} does not fit the expected network ({'; '.join(problems)}); "
                           f"it is another model or a damaged file.")


def load_gpen(key: str, device=None, half: bool | None = None) -> FullGenerator:
    """The GPEN model `key` from the registry, checked, loaded strictly and ready for inference.

    Half precision is the default on CUDA. Models are cached per (key, device, precision, file hash).
    """
    found = registry.require(key)  # ModelMissing / ModelCorrupt with a message to show
    spec = found.spec
    device = torch.device(device) if device is not None else _default_device()
    if half is None:
        half = device.type == "cuda"
    cache_key = (key, str(device), bool(half), found.sha256)
    with _models_lock:
        if cache_key in _models:
            return _models[cache_key]
        path = found.paths[0]
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # truncated or not a PyTorch file
            raise ModelCorrupt(f"{spec.title}: {path} could not be read as a PyTorch checkpoint ({error}); "
                               f"the file is damaged or another format.") from error
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise ModelCorrupt(f"{spec.title}: {path} holds no plain weight table; it is another kind of file.")
        model = FullGenerator(**spec.params)
        _check_layout(model, state, spec.title, path)
        model.load_state_dict(state, strict=True)
        model.eval().requires_grad_(False)
        model = model.to(device=device, dtype=torch.float16 if half else torch.float32)
        _models[cache_key] = model
        return model


def restore_faces(model: FullGenerator, crops: np.ndarray, batch_size: int = 4) -> np.ndarray:
    """Restore aligned faces: (N, S, S, 3) uint8 RGB with S the model's size -> the same shape."""
    crops = np.asarray(crops)
    size = model.size
    if crops.dtype != np.uint8 or crops.ndim != 4 or crops.shape[1:] != (size, size, 3):
        raise ValueError(f"expected (N, {size}, {size}, 3) uint8 RGB faces, got {crops.shape} {crops.dtype}")
    parameter = next(model.parameters())
    restored = np.empty_like(crops)
    with torch.inference_mode():
        for start in range(0, len(crops), max(1, batch_size)):
            batch = torch.from_numpy(crops[start:start + batch_size]).to(parameter.device)
            faces = batch.permute(0, 3, 1, 2).to(parameter.dtype) / 127.5 - 1
            out = model(faces).float().clamp_(-1, 1)
            out = ((out + 1) * 127.5).round_().to(torch.uint8).permute(0, 2, 3, 1)
            restored[start:start + len(batch)] = out.cpu().numpy()
    return restored


def gpen_key_for_face(face_size_px: float, available: Callable[[str], bool] | None = None) -> str | None:
    """The installed GPEN model best suited to a face of `face_size_px` in the frame.

    The smallest size that is at least the face's size: a larger model would only invent detail
    the film never held, and costs far more. A face larger than every installed model gets the
    largest one. None when no GPEN model is installed. `available(key)` defaults to the
    registry's is_available.
    """
    available = available or registry.is_available
    installed = [size for size in SIZES if available(f"gpen-bfr-{size}")]
    if not installed:
        return None
    covering = [size for size in installed if size >= face_size_px]
    return f"gpen-bfr-{covering[0] if covering else installed[-1]}"
