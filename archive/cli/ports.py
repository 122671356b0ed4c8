"""Ports the servers we start (`serve`, `replay`) listen on: checked free before anything starts."""

from __future__ import annotations

import socket

from archive.exits import UsageProblem


def claim_port(host: str, port: int, option: str) -> int:
    """`port` if it is free on `host` (a free one for 0); UsageProblem when it is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn and pywb do
        try:
            sock.bind((host, port))
        except OSError as error:
            raise UsageProblem(
                f"cannot listen on {host}:{port} ({error.strerror}): the port is taken; choose another with {option}"
            ) from None
        return sock.getsockname()[1]


def base_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else "::1" if host == "::" else host
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"
