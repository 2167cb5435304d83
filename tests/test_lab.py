"""`gangan lab`: options and safety checks, and a real JupyterLab started, queried and stopped on loopback."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gangan import lab
from gangan.errors import GanganError

REPO = Path(__file__).resolve().parents[1]
GANGAN = [sys.executable, "-m", "gangan"]

# Starts a command that runs `gangan lab`, waits for the URL it prints, requests /api/status with
# the token, without it and with a wrong one, then sends SIGINT (Ctrl-C) and waits for the
# exit. It runs as its own process so that it can also run inside a network namespace.
PROBE = textwrap.dedent(r'''
    import json, re, signal, socket, subprocess, sys, threading, time, urllib.error, urllib.request

    command, deadline_s = json.loads(sys.argv[1]), float(sys.argv[2])
    URL = re.compile(r"http://localhost:(\d+)/lab\?token=([0-9a-f]+)")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines, found = [], threading.Event()

    def read():
        for line in process.stdout:
            lines.append(line)
            if URL.search(line):
                found.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    found.wait(deadline_s)
    result = {"url_seen": found.is_set()}
    if found.is_set():
        token = next(URL.search(l) for l in lines if URL.search(l)).group(2)
        port = int(re.search(r"starting JupyterLab on \S+:(\d+)", "".join(lines)).group(1))

        def status(header):
            request = urllib.request.Request(f"http://127.0.0.1:{port}/api/status")
            if header:
                request.add_header("Authorization", header)
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as error:
                return error.code, None

        result.update(port=port, token=token, with_token=status(f"token {token}"), without_token=status(None),
                      wrong_token=status("token " + "0" * len(token)))
        # The page a participant opens: the URL printed, as the tunnel delivers it to the server.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=20) as response:
            result["lab_page"] = [response.status, "JupyterLab" in response.read().decode("utf-8", "replace")]
    process.send_signal(signal.SIGINT)
    try:
        result["exit"] = process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        result["exit"] = "killed"
    reader.join(5)
    if "port" in result:
        with socket.socket() as probe:
            result["still_listening"] = probe.connect_ex(("127.0.0.1", result["port"])) == 0
    result["output"] = "".join(lines)
    print(json.dumps(result))
''')


def _free_port_pair() -> int:
    """A port P such that P and P + 1 are both free on 127.0.0.1 now."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port < 65535 and lab.port_is_free("127.0.0.1", port) and lab.port_is_free("127.0.0.1", port + 1):
            return port
    raise RuntimeError("no free pair of ports")


@pytest.fixture
def jupyter_env(tmp_path, monkeypatch):
    """Jupyter's config, data and runtime folders under tmp_path, for this test and its children."""
    for name in ("CONFIG", "DATA", "RUNTIME"):
        monkeypatch.setenv(f"JUPYTER_{name}_DIR", str(tmp_path / f"jupyter-{name.lower()}"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    return tmp_path


def _probe(command: list[str], prefix: list[str] = (), deadline_s: float = 90) -> dict:
    done = subprocess.run([*prefix, sys.executable, "-c", PROBE, json.dumps(command), str(deadline_s)],
                          capture_output=True, text=True, timeout=deadline_s + 200)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_loopback_addresses():
    assert all(lab.is_loopback(ip) for ip in ("127.0.0.1", "127.1.2.3", "::1", "localhost"))
    assert not any(lab.is_loopback(ip) for ip in ("0.0.0.0", "::", "192.0.2.7", "gpu-server"))


def test_a_taken_port_moves_to_the_next_free_one():
    port = _free_port_pair()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        assert not lab.port_is_free("127.0.0.1", port)
        assert lab.choose_port("127.0.0.1", port) == port + 1
        plan = lab.plan_lab(port=port, notebook_dir=".")
        assert (plan.requested_port, plan.port, plan.server_port, plan.local_port) == (port, port + 1, port + 1, port + 1)
        assert plan.ssh_line.startswith(f"ssh -L {port + 1}:localhost:{port + 1} ")
    assert lab.choose_port("127.0.0.1", port) == port


def test_all_ports_taken_or_out_of_range_are_errors(monkeypatch):
    monkeypatch.setattr(lab, "port_is_free", lambda ip, port: False)
    with pytest.raises(GanganError, match=r"ports 9000 to 9050 on 127.0.0.1 are all in use; pass a free --port"):
        lab.choose_port("127.0.0.1", 9000)
    with pytest.raises(GanganError, match=r"invalid --port 70000: must be between 1 and 65535"):
        lab.choose_port("127.0.0.1", 70000)


def test_non_loopback_needs_allow_remote_and_warns(tmp_path):
    with pytest.raises(GanganError, match=r"refusing to listen on 0.0.0.0: .*--allow-remote"):
        lab.plan_lab(ip="0.0.0.0", notebook_dir=tmp_path)
    plan = lab.plan_lab(ip="0.0.0.0", notebook_dir=tmp_path, allow_remote=True, ssh_host="gpu01", port=_free_port_pair())
    assert any("only the token stands between them" in warning for warning in plan.warnings)
    assert plan.connect_host == "127.0.0.1"
    assert lab.plan_lab(notebook_dir=tmp_path, port=plan.port).warnings == [] or lab.in_container()


def test_bad_options_are_refused_with_the_fix(tmp_path):
    with pytest.raises(GanganError, match=r"invalid --ip 'gpu-server': give an IP address"):
        lab.plan_lab(ip="gpu-server", notebook_dir=tmp_path)
    with pytest.raises(GanganError, match=r"--notebook-dir .*nope is not a folder"):
        lab.plan_lab(notebook_dir=tmp_path / "nope")
    with pytest.raises(GanganError, match=r"the token must not be empty"):
        lab.plan_lab(notebook_dir=tmp_path, token="")
    with pytest.raises(GanganError, match=r"invalid --local-port 0"):
        lab.plan_lab(notebook_dir=tmp_path, local_port=0)


def test_plan_lines_token_and_root(tmp_path, monkeypatch):
    port = _free_port_pair()
    plan = lab.plan_lab(port=port, notebook_dir=tmp_path, ssh_user="taro", ssh_host="gpu01.example.org",
                        server_port=18888, local_port=8889)
    assert plan.ssh_line == "ssh -L 8889:localhost:18888 taro@gpu01.example.org"
    assert re.fullmatch(r"http://localhost:8889/lab\?token=[0-9a-f]{64}", plan.url)
    assert lab.plan_lab(port=port, notebook_dir=tmp_path).token != plan.token
    command = plan.jupyter_command()
    assert f"--ServerApp.port={port}" in command and "--ServerApp.ip=127.0.0.1" in command
    assert "--ServerApp.port_retries=0" in command
    # The token goes through the environment: other users of the server can read command lines.
    assert not any(plan.token in part for part in command)
    assert plan.environment()["JUPYTER_TOKEN"] == plan.token
    monkeypatch.delenv("GANGAN_RUNS", raising=False)
    assert plan.environment()["GANGAN_RUNS"] == str(tmp_path.resolve() / "runs")
    monkeypatch.setenv("GANGAN_RUNS", "/data/runs")
    assert plan.environment()["GANGAN_RUNS"] == "/data/runs"
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert "--allow-root" in lab.plan_lab(port=port, notebook_dir=tmp_path).jupyter_command()
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "--allow-root" not in lab.plan_lab(port=port, notebook_dir=tmp_path).jupyter_command()


def test_missing_jupyterlab_names_the_install_command(monkeypatch, run_cli):
    real_find_spec = lab.importlib.util.find_spec
    monkeypatch.setattr(lab.importlib.util, "find_spec", lambda name: None if name == "jupyterlab" else real_find_spec(name))
    with pytest.raises(GanganError, match=r"JupyterLab is not installed; install it with: pip install 'gangan\[lab\]'"):
        lab.require_jupyterlab()
    code, _, err = run_cli("lab")
    assert code == 1 and "pip install 'gangan[lab]'" in err and "Traceback" not in err


def test_cli_refuses_a_remote_address_without_allow_remote(run_cli):
    code, out, err = run_cli("lab", "--ip", "0.0.0.0", "--dry-run")
    assert code == 1
    assert "refusing to listen on 0.0.0.0" in err and "--allow-remote" in err


def test_cli_dry_run_prints_the_ssh_line_and_url(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("GANGAN_SSH_USER", "hanako")
    monkeypatch.setenv("GANGAN_SSH_HOST", "gpu02")
    port = _free_port_pair()
    code, out, err = run_cli("lab", "--dry-run", "--port", port, "--notebook-dir", tmp_path)
    assert code == 0, err
    assert f"ssh -L {port}:localhost:{port} hanako@gpu02" in out
    assert re.search(rf"http://localhost:{port}/lab\?token=[0-9a-f]{{64}}", out)


def test_lab_starts_on_loopback_answers_with_the_token_and_stops_on_ctrl_c(jupyter_env, tmp_path):
    pytest.importorskip("jupyterlab")
    port = _free_port_pair()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        result = _probe([*GANGAN, "lab", "--port", str(port), "--notebook-dir", str(tmp_path),
                         "--ssh-user", "taro", "--ssh-host", "gpu01"])
    output = result["output"]
    assert result["url_seen"], output
    assert f"port {port} is in use on 127.0.0.1; using port {port + 1} instead" in output
    assert result["port"] == port + 1
    assert f"ssh -L {port + 1}:localhost:{port + 1} taro@gpu01" in output
    status, body = result["with_token"]
    assert status == 200 and "started" in body
    assert result["without_token"][0] == 403 and result["wrong_token"][0] == 403
    assert result["lab_page"] == [200, True]
    assert result["exit"] == 0 and "JupyterLab stopped" in output
    assert result["still_listening"] is False
