"""JupyterLab on a remote GPU server, reached through an SSH tunnel.

`plan_lab` checks the options and works out the address, the port, a fresh token and the
lines a participant needs (the `ssh -L` command for their own computer and the URL to open
there); `LabServer` starts JupyterLab with that plan, waits until it responds, and stops it.

Safety model: by default the server listens on the loopback address only, so it is reached
through SSH port forwarding and never directly from the network. The token is required
in every case; it is handed to Jupyter through the environment (JUPYTER_TOKEN), which other
users of a shared server cannot read, rather than on the command line, which they can.
"""

from __future__ import annotations

import errno
import getpass
import importlib.util
import ipaddress
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from gangan.errors import GanganError

logger = logging.getLogger(__name__)

DEFAULT_PORT = 8888
PORT_SEARCH = 50  # ports tried after a taken one
INSTALL_HINT = "pip install 'gangan[lab]'"
STOP_TIMEOUT_S = 15.0


def is_loopback(ip: str) -> bool:
    """True for 127.0.0.0/8, ::1 and the name localhost; False for any other address, 0.0.0.0 included."""
    if ip == "localhost":
        return True
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


def _check_ip(ip: str) -> None:
    if ip == "localhost":
        return
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        raise GanganError(f"invalid --ip {ip!r}: give an IP address such as 127.0.0.1 (the default) or 0.0.0.0") from None


def port_is_free(ip: str, port: int) -> bool:
    """True when a listening socket can be bound at (ip, port) right now.

    SO_REUSEADDR is set as Jupyter's server sets it, so a port held only by connections
    closing (TIME_WAIT) counts as free, and one with a listener counts as taken.
    """
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((ip, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise GanganError(f"cannot listen on {ip}:{port}: {error.strerror}; check --ip") from None
    return True


def choose_port(ip: str, port: int, search: int = PORT_SEARCH) -> int:
    """Return `port` if it is free on `ip`, else the next free port above it.

    Raises:
        GanganError: the port is out of range, or it and the `search` ports after it are all taken.
    """
    if not 1 <= port <= 65535:
        raise GanganError(f"invalid --port {port}: must be between 1 and 65535")
    for candidate in range(port, min(port + search, 65535) + 1):
        if port_is_free(ip, candidate):
            return candidate
    raise GanganError(f"ports {port} to {min(port + search, 65535)} on {ip} are all in use; pass a free --port")


def default_ssh_host() -> str:
    """The server's name as the participant's computer is likely to know it (its fully qualified name)."""
    name = socket.getfqdn()
    return name if name and name not in ("localhost", "localhost.localdomain") else socket.gethostname()


def default_ssh_user() -> str:
    """This user's login name; "USER" when the uid has no name (a container run with --user UID)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "USER"


def in_container() -> bool:
    """True inside a Docker or Podman container, where host and user names are the container's own."""
    return Path("/.dockerenv").exists() or Path("/run/.containerenv").exists()


def ssh_command(local_port: int, server_port: int, user: str, host: str) -> str:
    """The port-forwarding command to run on the participant's own computer."""
    return f"ssh -L {local_port}:localhost:{server_port} {user}@{host}"


@dataclass
class LabPlan:
    """Everything needed to start JupyterLab and to tell a participant how to reach it.

    Attributes:
        ip: address JupyterLab listens on.
        port: port it listens on (the requested one, or the next free one).
        requested_port: the port asked for; differs from `port` when that one was taken.
        notebook_dir: the folder JupyterLab shows.
        token: the secret every request must carry.
        server_port: the port the tunnel reaches on the server (a container's published port).
        local_port: the port on the participant's computer.
        ssh_user, ssh_host: who logs in where, for the `ssh -L` line.
        allow_root: pass --allow-root to Jupyter (the process runs as uid 0).
        warnings: sentences to show before starting (remote exposure, container names).
    """

    ip: str
    port: int
    requested_port: int
    notebook_dir: Path
    token: str
    server_port: int
    local_port: int
    ssh_user: str
    ssh_host: str
    allow_root: bool
    warnings: list[str] = field(default_factory=list)

    @property
    def ssh_line(self) -> str:
        return ssh_command(self.local_port, self.server_port, self.ssh_user, self.ssh_host)

    @property
    def url(self) -> str:
        """The address to open on the participant's computer, token included."""
        return f"http://localhost:{self.local_port}/lab?token={self.token}"

    @property
    def connect_host(self) -> str:
        """The address this machine uses to reach the server (loopback when it listens on all)."""
        if self.ip in ("0.0.0.0", "localhost"):
            return "127.0.0.1"
        if self.ip == "::":
            return "::1"
        return self.ip

    def api_url(self, path: str = "/api/status") -> str:
        host = f"[{self.connect_host}]" if ":" in self.connect_host else self.connect_host
        return f"http://{host}:{self.port}{path}"

    def jupyter_command(self) -> list[str]:
        """The JupyterLab command line; the token travels in the environment (see `environment`)."""
        command = [
            sys.executable, "-m", "jupyterlab",
            "--no-browser",
            f"--ServerApp.ip={self.ip}",
            f"--ServerApp.port={self.port}",
            # Never drift to another port silently: the printed ssh line names this one.
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.notebook_dir}",
        ]
        if self.allow_root:
            command.append("--allow-root")
        return command

    def environment(self) -> dict[str, str]:
        """Jupyter's environment: the token, and GANGAN_RUNS (default: NOTEBOOK_DIR/runs) so that
        notebooks in any subfolder write their runs to one place."""
        env = {**os.environ, "JUPYTER_TOKEN": self.token}
        env.setdefault("GANGAN_RUNS", str(self.notebook_dir / "runs"))
        return env


def require_jupyterlab() -> None:
    """Raise GanganError with the install command when JupyterLab is not installed."""
    if importlib.util.find_spec("jupyterlab") is None:
        raise GanganError(f"JupyterLab is not installed; install it with: {INSTALL_HINT}")


def plan_lab(
    ip: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    notebook_dir: str | os.PathLike | None = None,
    allow_remote: bool = False,
    ssh_user: str | None = None,
    ssh_host: str | None = None,
    server_port: int | None = None,
    local_port: int | None = None,
    token: str | None = None,
) -> LabPlan:
    """Check the options and work out the address, port, token and connection lines.

    Args:
        ip: address to listen on; anything but loopback needs `allow_remote`.
        port: preferred port; when taken, the next free one is used.
        notebook_dir: folder to show (default: the current directory).
        allow_remote: accept a non-loopback `ip`, which exposes the server to the network.
        ssh_user, ssh_host: names for the `ssh -L` line (default: this user and this machine).
        server_port: port the tunnel reaches on the server (default: the chosen port); set it
            when a container publishes its port under another number.
        local_port: port on the participant's computer (default: `server_port`).
        token: secret to require (default: 32 random bytes, hex); must not be empty.

    Raises:
        GanganError: a remote address without allow_remote, a bad port, a missing folder,
            an empty token, or no free port.
    """
    _check_ip(ip)
    warnings = []
    if not is_loopback(ip):
        if not allow_remote:
            raise GanganError(
                f"refusing to listen on {ip}: anyone who can reach this machine on that address could try to "
                f"connect. Keep the default --ip 127.0.0.1 and use SSH port forwarding, or pass "
                f"--allow-remote to accept the exposure (inside a container published on 127.0.0.1 only)"
            )
        warnings.append(
            f"JupyterLab listens on {ip}, not only on loopback: every machine that can reach this one may connect "
            f"to the port, and only the token stands between them and a shell on this server. Publish it only "
            f"on the host's loopback (docker run -p 127.0.0.1:PORT:PORT) or behind a firewall, and never share the token."
        )
    folder = Path(notebook_dir) if notebook_dir is not None else Path.cwd()
    if not folder.is_dir():
        raise GanganError(f"--notebook-dir {folder} is not a folder; create it or pass an existing one")
    if token is not None and not token:
        raise GanganError("the token must not be empty: JupyterLab always requires one")
    for flag, value in (("--server-port", server_port), ("--local-port", local_port)):
        if value is not None and not 1 <= value <= 65535:
            raise GanganError(f"invalid {flag} {value}: must be between 1 and 65535")

    chosen = choose_port(ip, port)
    server_port = server_port or chosen
    if in_container() and not ssh_host:
        warnings.append(
            "running inside a container: the host name below is the container's. Pass the server's name with "
            "--ssh-host or GANGAN_SSH_HOST (and your login with --ssh-user or GANGAN_SSH_USER)."
        )
    return LabPlan(
        ip=ip,
        port=chosen,
        requested_port=port,
        notebook_dir=folder.resolve(),
        token=token or secrets.token_hex(32),
        server_port=server_port,
        local_port=local_port or server_port,
        ssh_user=ssh_user or default_ssh_user(),
        ssh_host=ssh_host or default_ssh_host(),
        allow_root=hasattr(os, "geteuid") and os.geteuid() == 0,
        warnings=warnings,
    )


class LabServer:
    """A running JupyterLab process started from a LabPlan.

    The process gets its own session, so a Ctrl-C in the terminal reaches gangan only; gangan
    then stops Jupyter with SIGTERM, which shuts its kernels down without the interactive
    "Shutdown this Jupyter server?" question that SIGINT would ask.
    """

    def __init__(self, plan: LabPlan):
        self.plan = plan
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        require_jupyterlab()
        self.process = subprocess.Popen(
            self.plan.jupyter_command(), env=self.plan.environment(), cwd=self.plan.notebook_dir, start_new_session=True
        )

    def status(self, token: str | None, timeout_s: float = 2.0) -> int:
        """HTTP status of GET /api/status with the given token (None sends no token)."""
        request = urllib.request.Request(self.plan.api_url())
        if token is not None:
            request.add_header("Authorization", f"token {token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Wait until /api/status responds to the token with 200.

        Raises:
            GanganError: Jupyter exited, or did not answer within timeout_s.
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise GanganError(
                    f"JupyterLab exited with status {self.process.returncode} before it responded; "
                    f"its messages above say why (is port {self.plan.port} taken now?)"
                )
            try:
                if self.status(self.plan.token, timeout_s=1.0) == 200:
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.2)
        raise GanganError(f"JupyterLab did not respond on {self.plan.api_url()} within {timeout_s:.0f} s; check its messages above")

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> int | None:
        """Stop Jupyter (SIGTERM, then SIGKILL after timeout_s) and return its exit status."""
        process = self.process
        if process is None or process.poll() is not None:
            return None if process is None else process.returncode
        try:
            process.send_signal(signal.SIGTERM)
            return process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            logger.warning("JupyterLab did not stop within %.0f s; killing it", timeout_s)
            process.kill()
            return process.wait()

    def wait(self) -> int:
        assert self.process is not None
        return self.process.wait()
