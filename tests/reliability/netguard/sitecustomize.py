"""Put on PYTHONPATH, this refuses every outbound connection except to COTPD_ALLOWED
(`host:port,...`) and logs each refused attempt to COTPD_NETGUARD_LOG, so a test sees even
attempts that the code caught and hid. Unix sockets (local IPC) pass."""

import json
import os
import socket

_ALLOWED = {tuple(a.rsplit(":", 1)) for a in os.environ.get("COTPD_ALLOWED", "").split(",") if a}
_LOG = os.environ.get("COTPD_NETGUARD_LOG")
_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex


def _check(sock: socket.socket, address: object) -> None:
    if sock.family == socket.AF_UNIX:
        return
    host, port = (address[0], address[1]) if isinstance(address, tuple) else (address, None)
    if (str(host), str(port)) in _ALLOWED:
        return
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(json.dumps({"pid": os.getpid(), "address": [str(host), port]}) + "\n")
    raise ConnectionRefusedError(f"netguard: outbound connection to {host}:{port} refused")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check(self, address)
    return _connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check(self, address)
    return _connect_ex(self, address)


socket.socket.connect = _guarded_connect  # create_connection and every client use these
socket.socket.connect_ex = _guarded_connect_ex
