"""`gangan lab`: JupyterLab on this server, with the exact SSH line to reach it from your own computer."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from gangan.cli.app import app, console, err_console
from gangan.lab import DEFAULT_PORT


@app.command()
def lab(
    port: int = typer.Option(DEFAULT_PORT, help="Port to listen on; when it is taken, the next free port is used."),
    ip: str = typer.Option("127.0.0.1", help="Address to listen on. Anything but loopback needs --allow-remote."),
    notebook_dir: Optional[Path] = typer.Option(None, help="Folder JupyterLab shows (default: the current folder)."),
    allow_remote: bool = typer.Option(False, "--allow-remote", help="Accept a non-loopback --ip (exposes the port to the network; the token is still required)."),
    ssh_user: Optional[str] = typer.Option(None, envvar="GANGAN_SSH_USER", help="Login name for the printed ssh line (default: this user)."),
    ssh_host: Optional[str] = typer.Option(None, envvar="GANGAN_SSH_HOST", help="Server name for the printed ssh line (default: this machine's name)."),
    server_port: Optional[int] = typer.Option(None, envvar="GANGAN_LAB_SERVER_PORT", help="Port the tunnel reaches on the server, when a container publishes --port under another number."),
    local_port: Optional[int] = typer.Option(None, envvar="GANGAN_LAB_LOCAL_PORT", help="Port on your own computer (default: the server port)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check the options and print the plan without starting JupyterLab."),
) -> None:
    """Start JupyterLab for use over SSH port forwarding; Ctrl-C stops it."""
    from gangan.lab import LabServer, plan_lab, require_jupyterlab

    if not dry_run:
        require_jupyterlab()
    plan = plan_lab(ip=ip, port=port, notebook_dir=notebook_dir, allow_remote=allow_remote, ssh_user=ssh_user,
                    ssh_host=ssh_host, server_port=server_port, local_port=local_port)
    for warning in plan.warnings:
        err_console.print(f"[bold yellow]warning:[/] {escape(warning)}")
    if plan.port != plan.requested_port:
        console.print(f"[yellow]port {plan.requested_port} is in use on {escape(plan.ip)}; using port {plan.port} instead[/]")
    if dry_run:
        console.print(f"would run: {escape(' '.join(plan.jupyter_command()))}  (token in JUPYTER_TOKEN)")
        _print_instructions(plan)
        return

    server = LabServer(plan)
    # `docker stop` sends SIGTERM to the container's first process, which is this one. SIGINT
    # gets the same handler because a process started from a non-interactive shell's
    # background job inherits SIGINT as ignored, and Ctrl-C or `kill -INT` must still stop it.
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    previous_sigint = signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
    try:
        server.start()
        console.print(f"starting JupyterLab on {escape(plan.ip)}:{plan.port} in {escape(str(plan.notebook_dir))} ...")
        server.wait_ready()
        _print_instructions(plan)
        status = server.wait()
        if status != 0:
            err_console.print(f"[bold red]error:[/] JupyterLab exited with status {status}")
            raise typer.Exit(1)
    except KeyboardInterrupt:
        console.print("stopping JupyterLab ...")
        server.stop()
        console.print("JupyterLab stopped")
    finally:
        server.stop()
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_sigint)


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def _print_instructions(plan) -> None:
    console.print()
    console.print("[bold]1. On your own computer, open a terminal and run (keep it open):[/]")
    console.print(f"   {escape(plan.ssh_line)}", soft_wrap=True)
    console.print("[bold]2. Then open this address in your browser:[/]")
    console.print(f"   {escape(plan.url)}", soft_wrap=True)
    console.print()
    console.print("Press Ctrl-C here to stop JupyterLab.")
