"""Put on PYTHONPATH, this refuses every outbound connection except to COTPD_ALLOWED
(`host:port,...`; the word `loopback` allows every loopback address) and logs each refused
attempt to COTPD_NETGUARD_LOG, so a test sees even attempts that the code caught and hid.
Name lookups of anything but a loopback name or address are refused and logged the same
way, and so are datagrams sent to other hosts. Unix sockets (local IPC) pass.

With COTPD_IMPORT_LOG set, it also writes, for the first import of each model library
(transformers, huggingface_hub, datasets, vllm, ...), the values the switches named in
COTPD_PROBE_SWITCHES had in the environment at that moment: the switches must be in force
before a library that reads them is imported."""

import ipaddress
import json
import os
import socket
import sys

_ALLOWED = {tuple(a.rsplit(":", 1)) for a in os.environ.get("COTPD_ALLOWED", "").split(",")
            if ":" in a}
_LOOPBACK_OK = "loopback" in os.environ.get("COTPD_ALLOWED", "").split(",")
_LOG = os.environ.get("COTPD_NETGUARD_LOG")
_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex
_sendto, _getaddrinfo = socket.socket.sendto, socket.getaddrinfo
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def _is_loopback(host: object) -> bool:
    text = host.decode() if isinstance(host, bytes) else str(host)
    if text.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(text.split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(kind: str, host: object, port: object) -> None:
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(json.dumps({"pid": os.getpid(), "kind": kind,
                                  "address": [str(host), port]}) + "\n")
    raise ConnectionRefusedError(f"netguard: outbound {kind} to {host}:{port} refused")


def _check(sock: socket.socket, address: object, kind: str = "connection") -> None:
    if sock.family == socket.AF_UNIX:
        return
    host, port = (address[0], address[1]) if isinstance(address, tuple) else (address, None)
    if (str(host), str(port)) in _ALLOWED or (_LOOPBACK_OK and _is_loopback(host)):
        return
    _refuse(kind, host, port)


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check(self, address)
    return _connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check(self, address)
    return _connect_ex(self, address)


def _guarded_sendto(self: socket.socket, data: bytes, *rest: object) -> int:
    _check(self, rest[-1], "datagram")
    return _sendto(self, data, *rest)


def _is_address(host: object) -> bool:
    try:
        ipaddress.ip_address(str(host).split("%")[0])
        return True
    except ValueError:
        return False


def _guarded_getaddrinfo(host: object, port: object, *args: object, **kwargs: object) -> list:
    """A name lookup may reach a DNS server: only loopback names pass (an address is no
    lookup; connecting to it is checked by connect)."""
    if isinstance(host, bytes):
        host = host.decode()
    allowed = host is None or _is_loopback(host) or _is_address(host) \
        or any(str(host) == h for h, _ in _ALLOWED)
    if not allowed:
        _refuse("name lookup", host, port)
    return _getaddrinfo(host, port, *args, **kwargs)


socket.socket.connect = _guarded_connect  # create_connection and every client use these
socket.socket.connect_ex = _guarded_connect_ex
socket.socket.sendto = _guarded_sendto
socket.getaddrinfo = _guarded_getaddrinfo

_IMPORT_LOG = os.environ.get("COTPD_IMPORT_LOG")
_SWITCHES = [s for s in os.environ.get("COTPD_PROBE_SWITCHES", "").split(",") if s]
WATCHED = {"transformers", "huggingface_hub", "datasets", "vllm", "lavis", "tokenizers",
           "safetensors", "accelerate", "deepspeed", "llama_index", "openai", "torch"}


class _ImportProbe:
    """A meta path finder that finds nothing: it only notes the environment when a watched
    library is first imported, then lets the normal finders import it."""

    seen: set[str] = set()

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name in WATCHED and name not in self.seen:
            self.seen.add(name)
            with open(_IMPORT_LOG, "a", encoding="utf-8") as log:
                log.write(json.dumps({"pid": os.getpid(), "module": name, "argv": sys.argv,
                                      "env": {s: os.environ.get(s) for s in _SWITCHES}}) + "\n")
        return None

    def invalidate_caches(self) -> None:
        return None


if _IMPORT_LOG:
    sys.meta_path.insert(0, _ImportProbe())
