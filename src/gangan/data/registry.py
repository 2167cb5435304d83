"""Registry of named datasets, with their native shape and where their files come from."""

from __future__ import annotations

from dataclasses import dataclass, field

from gangan.errors import GanganError

FOLDER_PREFIX = "folder:"
# A folder of images has no native size; this is the size it is cropped to by default.
FOLDER_DEFAULT_SIZE = 64


@dataclass(frozen=True)
class DatasetSpec:
    """A named dataset.

    `kind` selects the loader: "idx" (MNIST-style files), "cifar10", "digits" or "folder".
    For "idx" datasets, `mirrors` are base URLs and `md5` maps each gzipped file name to its
    checksum; `split_sizes` is the number of images in each split, used to reject truncated files.
    """

    name: str
    description: str
    kind: str
    image_size: int
    channels: int
    num_classes: int | None
    how_to_get: str
    mirrors: tuple[str, ...] = ()
    md5: dict[str, str] = field(default_factory=dict)
    split_sizes: dict[str, int] = field(default_factory=dict)
    class_names: tuple[str, ...] = ()
    offline: str = ""


_IDX_SIZES = {"train": 60000, "test": 10000}

DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in [
        DatasetSpec(
            name="mnist",
            description="handwritten digits 0-9, 28x28 grayscale, 60,000 train + 10,000 test",
            kind="idx",
            image_size=28,
            channels=1,
            num_classes=10,
            how_to_get="downloaded automatically; or put the four *-ubyte.gz files in $GANGAN_DATA/mnist",
            mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
            md5={
                "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
                "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
                "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
            },
            split_sizes=_IDX_SIZES,
            class_names=tuple(str(digit) for digit in range(10)),
        ),
        DatasetSpec(
            name="fashion-mnist",
            description="Zalando clothing images in 10 classes, 28x28 grayscale, 60,000 train + 10,000 test",
            kind="idx",
            image_size=28,
            channels=1,
            num_classes=10,
            how_to_get="apt-get install dataset-fashion-mnist (offline copy), or downloaded automatically",
            mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
            md5={
                "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
            },
            split_sizes=_IDX_SIZES,
            offline="Offline copy: apt-get install dataset-fashion-mnist (installs to /usr/share/datasets/fashion-mnist).",
            class_names=(
                "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
            ),
        ),
        DatasetSpec(
            name="kmnist",
            description="Kuzushiji-MNIST: cursive Japanese hiragana in 10 classes, 28x28 grayscale",
            kind="idx",
            image_size=28,
            channels=1,
            num_classes=10,
            how_to_get="downloaded automatically; or put the four *-ubyte.gz files in $GANGAN_DATA/kmnist",
            mirrors=("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
            md5={
                "train-images-idx3-ubyte.gz": "bdb82020997e1d708af4cf47b453dcf7",
                "train-labels-idx1-ubyte.gz": "e144d726b3acfaa3e44228e80efcd344",
                "t10k-images-idx3-ubyte.gz": "5c965bf0a639b31b8f53240b1b52f4d7",
                "t10k-labels-idx1-ubyte.gz": "7320c461ea6c1c855c0b718fb2a4b134",
            },
            split_sizes=_IDX_SIZES,
            class_names=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
        ),
        DatasetSpec(
            name="cifar10",
            description="natural images in 10 classes, 32x32 RGB, 50,000 train + 10,000 test",
            kind="cifar10",
            image_size=32,
            channels=3,
            num_classes=10,
            how_to_get="downloaded automatically (torchvision); or unpack cifar-10-python.tar.gz into $GANGAN_DATA/cifar10",
            split_sizes={"train": 50000, "test": 10000},
            class_names=(
                "airplane", "automobile", "bird", "cat", "deer",
                "dog", "frog", "horse", "ship", "truck",
            ),
        ),
        DatasetSpec(
            name="digits",
            description="scikit-learn's bundled 8x8 digits (1,797 images), for instant smoke runs",
            kind="digits",
            image_size=8,
            channels=1,
            num_classes=10,
            how_to_get="ships inside scikit-learn; always available",
            split_sizes={"train": 1500, "test": 297},
            class_names=tuple(str(digit) for digit in range(10)),
        ),
        DatasetSpec(
            name="stacked-mnist",
            description="three random MNIST digits in the R, G and B channels: 1,000 classes (modes), 28x28 RGB",
            kind="stacked",
            image_size=28,
            channels=3,
            num_classes=1000,
            how_to_get="built from the MNIST split at hand (see mnist); the label is 100 R + 10 G + B",
            split_sizes=_IDX_SIZES,
            class_names=tuple(f"{mode:03d}" for mode in range(1000)),
        ),
    ]
}


def dataset_spec(name: str) -> DatasetSpec:
    """Return the spec of a named dataset or of `folder:PATH`; raise GanganError for an unknown name."""
    if name.startswith(FOLDER_PREFIX):
        path = name[len(FOLDER_PREFIX):]
        if not path:
            raise GanganError("dataset 'folder:' has no path; write it as --dataset folder:PATH/TO/IMAGES")
        return DatasetSpec(
            name=name,
            description=f"images under {path}",
            kind="folder",
            image_size=FOLDER_DEFAULT_SIZE,
            channels=3,
            num_classes=None,
            how_to_get="a folder of png/jpg/webp images, searched recursively",
        )
    if name not in DATASETS:
        valid = ", ".join([*DATASETS, "folder:PATH"])
        raise GanganError(f"unknown dataset '{name}'; valid datasets: {valid}")
    return DATASETS[name]


def native_shape(name: str) -> tuple[int, int]:
    """Return (channels, image_size) of a dataset as stored, before any resize."""
    spec = dataset_spec(name)
    return spec.channels, spec.image_size
