"""Finding dataset files on this machine, downloading missing ones, and loading them as uint8 tensors.

Files are searched in this order: `--data-root`, the GANGAN_DATA environment variable,
system dataset folders (Debian's dataset-* packages install under /usr/share/datasets), the
per-user cache; a named dataset that is found nowhere is downloaded into the cache with its
checksum verified.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import urllib.error
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from gangan.data.idx import read_idx
from gangan.data.registry import DatasetSpec, dataset_spec
from gangan.errors import GanganError

logger = logging.getLogger(__name__)

SPLITS = ("train", "test", "all")
SYSTEM_DATA_DIRS = (Path("/usr/share/datasets"), Path("/usr/local/share/datasets"))
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}
_IDX_STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# Folder names that torchvision uses for the same files, so an existing torchvision root works.
_TORCHVISION_DIRS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "kmnist": "KMNIST"}
_DOWNLOAD_TIMEOUT_S = 60


@dataclass
class ImageData:
    """A dataset split held in memory.

    images: uint8 tensor (N, C, H, W) in [0, 255]; labels: int64 tensor (N,) or None for
    unlabelled data; source: where the files were found.
    """

    name: str
    images: torch.Tensor
    labels: torch.Tensor | None
    num_classes: int | None
    class_names: tuple[str, ...]
    source: str

    def __len__(self) -> int:
        return self.images.shape[0]


def cache_dir() -> Path:
    """Return the per-user folder for downloaded datasets ($XDG_CACHE_HOME/gangan/datasets)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gangan" / "datasets"


def user_roots(data_root: str | os.PathLike | None) -> list[Path]:
    """Return the data roots a user named, by --data-root first and GANGAN_DATA second."""
    roots = []
    if data_root:
        roots.append(Path(data_root).expanduser())
    if os.environ.get("GANGAN_DATA"):
        roots.append(Path(os.environ["GANGAN_DATA"]).expanduser())
    return roots


def candidate_dirs(name: str, data_root: str | os.PathLike | None) -> list[Path]:
    """Return the folders searched for a named dataset's files, in priority order."""
    dirs: list[Path] = []
    for root in user_roots(data_root):
        dirs.append(root / name)
        if name in _TORCHVISION_DIRS:
            dirs.append(root / _TORCHVISION_DIRS[name] / "raw")
        # MNIST, Fashion-MNIST and KMNIST use the same file names, so a root's own files are
        # taken only when the folder is named after the dataset (--data-root .../mnist).
        if root.name.lower() in (name, _TORCHVISION_DIRS.get(name, name).lower()):
            dirs.append(root)
    dirs += [system / name for system in SYSTEM_DATA_DIRS]
    dirs.append(cache_dir() / name)
    return dirs


def load_dataset(
    name: str,
    split: str = "train",
    data_root: str | os.PathLike | None = None,
    image_size: int | None = None,
    channels: int | None = None,
    download: bool = True,
) -> ImageData:
    """Load a dataset split into memory as uint8 (N, C, H, W), resized and converted on request.

    Args:
        name: a name from DATASETS or "folder:PATH".
        split: "train", "test" or "all" (both concatenated).
        data_root: a folder searched before all others.
        image_size: side length after resize (and center crop for folders); None keeps the native size.
        channels: 1 (grayscale) or 3 (RGB); None keeps the native channels.
        download: fetch missing named datasets into the cache.
    """
    spec = dataset_spec(name)
    if split not in SPLITS:
        raise GanganError(f"invalid --split '{split}'; valid splits: {', '.join(SPLITS)}")
    if channels not in (None, 1, 3):
        raise GanganError(f"invalid --channels {channels}; use 1 (grayscale) or 3 (RGB)")

    if spec.kind == "folder":
        return _load_folder(spec, split, image_size or spec.image_size, channels or spec.channels)
    parts = [split] if split != "all" else ["train", "test"]
    loaded = [_load_named_split(spec, part, data_root, download) for part in parts]
    images = torch.cat([part[0] for part in loaded])
    labels = torch.cat([part[1] for part in loaded])
    source = "; ".join(dict.fromkeys(part[2] for part in loaded))
    images = convert_images(images, image_size, channels)
    return ImageData(spec.name, images, labels, spec.num_classes, spec.class_names, source)


def convert_images(images: torch.Tensor, image_size: int | None, channels: int | None) -> torch.Tensor:
    """Resize a uint8 batch (N, C, H, W) to a square side and convert it to 1 or 3 channels."""
    if channels is not None and channels != images.shape[1]:
        if channels == 3:
            images = images.expand(-1, 3, -1, -1).contiguous()
        else:
            images = TF.rgb_to_grayscale(images, num_output_channels=1)
    if image_size is not None and image_size != images.shape[-1]:
        # Resize in chunks so that a 60,000-image dataset never needs a float copy in memory.
        chunks = [
            TF.resize(chunk, [image_size, image_size], antialias=True)
            for chunk in images.split(4096)
        ]
        images = torch.cat(chunks)
    return images.contiguous()


def _load_named_split(
    spec: DatasetSpec, split: str, data_root, download: bool
) -> tuple[torch.Tensor, torch.Tensor, str]:
    if spec.kind == "digits":
        return _load_digits(spec, split)
    if spec.kind == "stacked":
        return _load_stacked(split, data_root, download)
    if spec.kind == "cifar10":
        return _load_cifar10(spec, split, data_root, download)
    return _load_idx(spec, split, data_root, download)


def _load_digits(spec: DatasetSpec, split: str) -> tuple[torch.Tensor, torch.Tensor, str]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    # Pixel values in the bundled set are integers 0..16.
    images = torch.from_numpy(np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)).unsqueeze(1)
    labels = torch.from_numpy(bunch.target.astype(np.int64))
    n_train = spec.split_sizes["train"]
    if split == "train":
        return images[:n_train], labels[:n_train], "scikit-learn (bundled)"
    return images[n_train:], labels[n_train:], "scikit-learn (bundled)"


# Stacked MNIST draws its digit triples from this seed, so every machine builds the same set.
_STACKED_SEED = 2018


def _load_stacked(split: str, data_root, download: bool) -> tuple[torch.Tensor, torch.Tensor, str]:
    """Build Stacked MNIST from an MNIST split: image i stacks three digits drawn at random.

    As many images as the MNIST split holds; each channel's digit is drawn uniformly with a
    fixed seed, and the label 100 R + 10 G + B names one of 1,000 modes.
    """
    images, labels, source = _load_idx(dataset_spec("mnist"), split, data_root, download)
    generator = torch.Generator().manual_seed(_STACKED_SEED + (split == "test"))
    index = torch.randint(0, images.shape[0], (images.shape[0], 3), generator=generator)
    stacked = images[index].squeeze(2)  # (N, 3, 28, 28): channel c contains digit index[:, c]
    modes = labels[index[:, 0]] * 100 + labels[index[:, 1]] * 10 + labels[index[:, 2]]
    return stacked.contiguous(), modes, f"{source} (stacked)"


def _find_idx_pair(spec: DatasetSpec, split: str, dirs: list[Path]) -> tuple[Path, Path] | None:
    image_stem, label_stem = _IDX_STEMS[split]
    for directory in dirs:
        for suffix in ("", ".gz"):
            image_path = directory / f"{image_stem}{suffix}"
            label_path = directory / f"{label_stem}{suffix}"
            if image_path.is_file() and label_path.is_file():
                return image_path, label_path
    return None


def _load_idx(spec: DatasetSpec, split: str, data_root, download: bool) -> tuple[torch.Tensor, torch.Tensor, str]:
    dirs = candidate_dirs(spec.name, data_root)
    pair = _find_idx_pair(spec, split, dirs)
    if pair is None:
        if not download:
            raise GanganError(_missing_message(spec, split, dirs, reason="downloads are disabled"))
        pair = _download_idx(spec, split, dirs)
    image_path, label_path = pair
    count = spec.split_sizes.get(split)
    images = read_idx(image_path, count, "images").unsqueeze(1)
    labels = read_idx(label_path, count, "labels").long()
    if labels.shape[0] != images.shape[0]:
        raise GanganError(f"{image_path} contains {images.shape[0]} images but {label_path} contains {labels.shape[0]} labels")
    logger.debug("loaded %s %s split from %s", spec.name, split, image_path.parent)
    return images, labels, str(image_path.parent)


def _download_idx(spec: DatasetSpec, split: str, dirs: list[Path]) -> tuple[Path, Path]:
    """Download one split's two gzipped files into the cache, verifying their MD5 checksums."""
    from torchvision.datasets.utils import download_url

    target = cache_dir() / spec.name
    mirrors = [os.environ["GANGAN_DOWNLOAD_URL"]] if os.environ.get("GANGAN_DOWNLOAD_URL") else list(spec.mirrors)
    names = [f"{stem}.gz" for stem in _IDX_STEMS[split]]
    failures: list[str] = []
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise GanganError(f"cannot create the dataset cache {target}: {error.strerror}; set XDG_CACHE_HOME to a writable folder") from None
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(_DOWNLOAD_TIMEOUT_S)
    try:
        for file_name in names:
            if (target / file_name).is_file():
                continue
            for mirror in mirrors:
                url = mirror.rstrip("/") + "/" + file_name
                logger.info("downloading %s", url)
                # Download next to the cache and rename, so a failed transfer leaves no partial file.
                with tempfile.TemporaryDirectory(dir=target, prefix=".download-") as scratch:
                    try:
                        download_url(url, scratch, file_name, md5=spec.md5.get(file_name))
                    except (urllib.error.URLError, OSError, RuntimeError, ValueError) as error:
                        failures.append(f"{url}: {error}")
                        continue
                    os.replace(Path(scratch) / file_name, target / file_name)
                break
            else:
                reason = "download failed (" + "; ".join(failures[-len(mirrors):]) + ")"
                raise GanganError(_missing_message(spec, split, dirs, reason))
    finally:
        socket.setdefaulttimeout(old_timeout)
    return target / names[0], target / names[1]


def _missing_message(spec: DatasetSpec, split: str, dirs: list[Path], reason: str) -> str:
    image_stem, label_stem = _IDX_STEMS[split]
    searched = "\n".join(f"  {directory}" for directory in dirs)
    lines = [
        f"{spec.name} {split} split not found: missing {image_stem}.gz and {label_stem}.gz; {reason}.",
        f"Searched:\n{searched}",
        f"Fix: put the files (gzipped or unpacked) in $GANGAN_DATA/{spec.name}/ or in a folder named "
        f"{spec.name} that you pass as --data-root.",
    ]
    if spec.offline:
        lines.append(spec.offline)
    if split != "test":
        lines.append("With only the t10k-* test files at hand, --split test works.")
    return "\n".join(lines)


def _load_cifar10(spec: DatasetSpec, split: str, data_root, download: bool) -> tuple[torch.Tensor, torch.Tensor, str]:
    from torchvision.datasets import CIFAR10

    dirs = candidate_dirs(spec.name, data_root)
    for directory in dirs:
        if (directory / "cifar-10-batches-py").is_dir():
            root = directory
            break
    else:
        if not download:
            raise GanganError(f"cifar10 not found in any of: {', '.join(map(str, dirs))}. {spec.how_to_get}.")
        root = cache_dir() / spec.name
    try:
        dataset = CIFAR10(str(root), train=(split == "train"), download=download and not (root / "cifar-10-batches-py").is_dir())
    except (urllib.error.URLError, OSError, RuntimeError) as error:
        raise GanganError(
            f"cifar10 could not be loaded from {root} ({error}). Put cifar-10-python.tar.gz unpacked "
            f"(the cifar-10-batches-py folder) into $GANGAN_DATA/cifar10/ or pass --data-root DIR."
        ) from None
    images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2).contiguous()
    labels = torch.tensor(dataset.targets, dtype=torch.long)
    return images, labels, str(root)


def _load_folder(spec: DatasetSpec, split: str, image_size: int, channels: int) -> ImageData:
    folder = Path(spec.name.split(":", 1)[1]).expanduser()
    if split == "test":
        raise GanganError(f"a folder dataset has no test split; use --split train (every image under {folder})")
    if not folder.is_dir():
        raise GanganError(f"image folder not found: {folder}; check the path after 'folder:'")
    paths = sorted(path for path in folder.rglob("*") if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file())
    mode = "L" if channels == 1 else "RGB"
    transform = v2.Compose([v2.PILToTensor(), v2.Resize(image_size, antialias=True), v2.CenterCrop(image_size)])

    def read(path: Path) -> torch.Tensor | None:
        try:
            with Image.open(path) as image:
                return transform(image.convert(mode))
        except (UnidentifiedImageError, OSError, ValueError):
            return None

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        loaded = list(pool.map(read, paths))
    images = [image for image in loaded if image is not None]
    skipped = [path for path, image in zip(paths, loaded) if image is None]
    if skipped:
        logger.warning("skipped %d unreadable image file(s) under %s (first: %s)", len(skipped), folder, skipped[0])
    if not images:
        raise GanganError(
            f"no readable image under {folder}: expected .png, .jpg, .jpeg or .webp files (searched recursively)"
        )
    return ImageData(spec.name, torch.stack(images), None, None, (), str(folder))


def dataset_status(name: str, data_root: str | os.PathLike | None = None) -> list[tuple[str, str, str]]:
    """Report where each split of a dataset is on this machine, without loading or downloading.

    Returns rows of (split, status, detail): status is "found" or "missing"; detail is the
    folder or how to get the files.
    """
    spec = dataset_spec(name)
    if spec.kind == "digits":
        return [("all", "found", "inside scikit-learn")]
    if spec.kind == "stacked":
        return dataset_status("mnist", data_root)
    if spec.kind == "folder":
        folder = Path(spec.name.split(":", 1)[1]).expanduser()
        return [("all", "found" if folder.is_dir() else "missing", str(folder))]
    dirs = candidate_dirs(spec.name, data_root)
    if spec.kind == "cifar10":
        found = next((d for d in dirs if (d / "cifar-10-batches-py").is_dir()), None)
        return [("train+test", "found", str(found)) if found else ("train+test", "missing", spec.how_to_get)]
    rows = []
    for split in ("train", "test"):
        pair = _find_idx_pair(spec, split, dirs)
        if pair:
            rows.append((split, "found", str(pair[0].parent)))
        else:
            # Name the two files this split needs, in place of the dataset's note on all four.
            files = " and ".join(f"{stem}.gz" for stem in _IDX_STEMS[split])
            hint = spec.how_to_get.replace("the four *-ubyte.gz files", files)
            rows.append((split, "missing", hint))
    return rows
