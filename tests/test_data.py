import gzip
import hashlib
import http.server
import shutil
import threading
from functools import partial
from pathlib import Path

import pytest
import torch
from PIL import Image

from gangan.data import TensorBatches, dataset_status, load_dataset
from gangan.data.loading import cache_dir
from gangan.errors import GanganError

MNIST_TEST_MD5 = {
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}


def test_digits_shapes_and_range():
    data = load_dataset("digits", "train")
    assert data.images.dtype == torch.uint8
    assert tuple(data.images.shape) == (1500, 1, 8, 8)
    assert data.labels.shape == (1500,)
    assert int(data.images.max()) == 255
    assert int(data.images.min()) == 0
    assert set(data.labels.tolist()) == set(range(10))
    assert len(load_dataset("digits", "test")) == 297
    assert len(load_dataset("digits", "all")) == 1797


def test_resize_and_channels():
    data = load_dataset("digits", "test", image_size=28, channels=3)
    assert tuple(data.images.shape) == (297, 3, 28, 28)
    assert torch.equal(data.images[:, 0], data.images[:, 2])


def test_mnist_test_split_from_data_root(mnist_dir):
    data = load_dataset("mnist", "test", data_root=mnist_dir)
    assert tuple(data.images.shape) == (10000, 1, 28, 28)
    assert data.labels[:5].tolist() == [7, 2, 1, 0, 4]
    assert data.source == str(mnist_dir)


def test_unpacked_idx_files_load(mnist_dir, tmp_path):
    root = tmp_path / "mnist"
    root.mkdir()
    for name in MNIST_TEST_MD5:
        with gzip.open(mnist_dir / name) as packed:
            (root / name.removesuffix(".gz")).write_bytes(packed.read())
    unpacked = load_dataset("mnist", "test", data_root=root)
    packed = load_dataset("mnist", "test", data_root=mnist_dir)
    assert torch.equal(unpacked.images, packed.images)
    assert torch.equal(unpacked.labels, packed.labels)


def test_gangan_data_env_and_subfolder(mnist_dir, tmp_path, monkeypatch):
    shutil.copytree(mnist_dir, tmp_path / "mnist")
    monkeypatch.setenv("GANGAN_DATA", str(tmp_path))
    data = load_dataset("mnist", "test")
    assert data.source == str(tmp_path / "mnist")


def test_data_root_wins_over_env(mnist_dir, tmp_path, monkeypatch):
    shutil.copytree(mnist_dir, tmp_path / "env" / "mnist")
    monkeypatch.setenv("GANGAN_DATA", str(tmp_path / "env"))
    assert load_dataset("mnist", "test", data_root=mnist_dir).source == str(mnist_dir)


def _copy_split(mnist_dir: Path, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in MNIST_TEST_MD5:
        shutil.copy(mnist_dir / name, target / name)
    return target


def test_truncated_gzip_is_named(mnist_dir, tmp_path):
    root = _copy_split(mnist_dir, tmp_path / "mnist")
    path = root / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:100_000])
    with pytest.raises(GanganError, match=r"t10k-images-idx3-ubyte.gz is not a valid gzip file.*corrupt or truncated"):
        load_dataset("mnist", "test", data_root=root)


def test_html_page_is_named(mnist_dir, tmp_path):
    root = _copy_split(mnist_dir, tmp_path / "mnist")
    (root / "t10k-labels-idx1-ubyte.gz").unlink()
    (root / "t10k-labels-idx1-ubyte").write_text("<!DOCTYPE html><html><body>Not Found</body></html>")
    (root / "t10k-images-idx3-ubyte.gz").rename(root / "t10k-images-idx3-ubyte.gz.bak")
    with gzip.open(root / "t10k-images-idx3-ubyte.gz.bak") as packed:
        (root / "t10k-images-idx3-ubyte").write_bytes(packed.read())
    with pytest.raises(GanganError, match=r"t10k-labels-idx1-ubyte is not an IDX labels file \(it starts with '<!DOCTYPE html>"):
        load_dataset("mnist", "test", data_root=root)


def test_wrong_size_is_named(mnist_dir, tmp_path):
    root = _copy_split(mnist_dir, tmp_path / "mnist")
    with gzip.open(root / "t10k-images-idx3-ubyte.gz") as packed:
        content = packed.read()
    (root / "t10k-images-idx3-ubyte.gz").unlink()
    (root / "t10k-images-idx3-ubyte").write_bytes(content[:-784])
    (root / "t10k-labels-idx1-ubyte.gz").rename(root / "t10k-labels-idx1-ubyte.gz.bak")
    with gzip.open(root / "t10k-labels-idx1-ubyte.gz.bak") as packed:
        (root / "t10k-labels-idx1-ubyte").write_bytes(packed.read())
    with pytest.raises(GanganError, match=r"t10k-images-idx3-ubyte is truncated or padded"):
        load_dataset("mnist", "test", data_root=root)


def test_missing_split_offline_says_what_and_where(mnist_dir, monkeypatch):
    # An unroutable mirror makes the download fail at once, as it does offline.
    monkeypatch.setenv("GANGAN_DOWNLOAD_URL", "http://127.0.0.1:9/")
    with pytest.raises(GanganError) as raised:
        load_dataset("mnist", "train", data_root=mnist_dir)
    message = str(raised.value)
    assert "missing train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz" in message
    assert "download failed" in message
    assert str(mnist_dir) in message
    assert "--split test works" in message
    assert not list((cache_dir() / "mnist").glob("*.gz")), "a failed download must leave no file behind"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def local_mirror(tmp_path):
    """Serve a folder over HTTP on 127.0.0.1; yields (folder, base URL)."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_download_verifies_checksum_and_caches(mnist_dir, local_mirror, monkeypatch):
    folder, url = local_mirror
    _copy_split(mnist_dir, folder)
    monkeypatch.setenv("GANGAN_DOWNLOAD_URL", url)
    data = load_dataset("mnist", "test")
    assert len(data) == 10000
    for name, md5 in MNIST_TEST_MD5.items():
        assert hashlib.md5((cache_dir() / "mnist" / name).read_bytes()).hexdigest() == md5
    assert data.source == str(cache_dir() / "mnist")


def test_download_with_bad_checksum_is_rejected(mnist_dir, local_mirror, monkeypatch):
    folder, url = local_mirror
    _copy_split(mnist_dir, folder)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"<html>captive portal</html>")
    monkeypatch.setenv("GANGAN_DOWNLOAD_URL", url)
    with pytest.raises(GanganError, match="download failed"):
        load_dataset("mnist", "test")
    assert not (cache_dir() / "mnist" / "t10k-labels-idx1-ubyte.gz").exists()


def test_fashion_mnist_found_in_system_folder(fashion_dir):
    rows = dict((split, (status, where)) for split, status, where in dataset_status("fashion-mnist"))
    assert rows["train"] == ("found", str(fashion_dir))
    assert rows["test"] == ("found", str(fashion_dir))


def test_other_dataset_files_are_not_taken(mnist_dir):
    # fashion-mnist uses MNIST's file names; a root named "mnist" must not serve them.
    rows = dict((split, status) for split, status, _ in dataset_status("kmnist", mnist_dir))
    assert rows["test"] == "missing"
    assert load_dataset("mnist", "test", data_root=mnist_dir.parent).source == str(mnist_dir)


def test_status_reports_missing(tmp_path):
    rows = dataset_status("kmnist", tmp_path)
    assert [row[1] for row in rows] == ["missing", "missing"]
    assert "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz" in rows[1][2]
    assert "train-images" not in rows[1][2]


def _write_images(folder: Path, count: int, size=(40, 30), mode="RGB"):
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        colour = (index * 40 % 256, 100, 200) if mode == "RGB" else index * 40 % 256
        Image.new(mode, size, colour).save(folder / f"image{index}.png")


def test_folder_dataset_recursive_resize_crop(tmp_path, caplog):
    _write_images(tmp_path / "a", 3)
    _write_images(tmp_path / "a" / "nested", 2, size=(20, 50))
    Image.new("RGB", (10, 10)).save(tmp_path / "a" / "x.jpg")
    (tmp_path / "a" / "broken.png").write_bytes(b"not an image")
    (tmp_path / "a" / "notes.txt").write_text("ignored")
    data = load_dataset(f"folder:{tmp_path / 'a'}", "train", image_size=16, channels=3)
    assert tuple(data.images.shape) == (6, 3, 16, 16)
    assert data.labels is None
    assert "skipped 1 unreadable image file(s)" in caplog.text
    gray = load_dataset(f"folder:{tmp_path / 'a'}", "train", image_size=16, channels=1)
    assert gray.images.shape[1] == 1


def test_folder_without_images_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "broken.png").write_bytes(b"junk")
    with pytest.raises(GanganError, match=r"no readable image under .*empty"):
        load_dataset(f"folder:{tmp_path / 'empty'}", "train", image_size=16)
    with pytest.raises(GanganError, match=r"image folder not found: .*absent"):
        load_dataset(f"folder:{tmp_path / 'absent'}", "train", image_size=16)


def test_batches_cover_epoch_and_resume():
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1).expand(10, 1, 2, 2).contiguous()
    labels = torch.arange(10)
    batches = TensorBatches(images, labels, batch_size=3, seed=0)
    first_epoch = torch.cat([next(batches)[1] for _ in range(3)])
    assert len(set(first_epoch.tolist())) == 9, "an epoch draws each image at most once"
    real, _ = next(batches)
    assert batches.epoch == 1
    assert real.min() >= -1 and real.max() <= 1

    state = batches.state_dict()
    expected = [next(batches)[1].tolist() for _ in range(5)]
    resumed = TensorBatches(images, labels, batch_size=3, seed=123)
    resumed.load_state_dict(state)
    assert [next(resumed)[1].tolist() for _ in range(5)] == expected


def test_batch_values_map_uint8_to_unit_range():
    images = torch.tensor([0, 255], dtype=torch.uint8).view(2, 1, 1, 1)
    real, labels = next(TensorBatches(images, None, batch_size=2, seed=0))
    assert sorted(real.flatten().tolist()) == [-1.0, 1.0]
    assert labels is None
