"""optuna's gRPC storage proxy: many workers share one server's few database
connections. ``serve`` runs the proxy in front of a SQL storage (``nas storage serve``);
``connect`` joins one (``--storage grpc://HOST:PORT``). Both need the ``grpcio`` package
(the ``[grpc]`` extra); the proxy does not wrap a journal file (optuna issue 6084)."""

from __future__ import annotations

import warnings

GRPC_EXTRA = "pip install 'nas-toolkit[grpc]'"
CONNECT_TIMEOUT_S = 10.0  # how long joining a proxy waits for it to answer
DEFAULT_PORT = 13000


class ProxyError(RuntimeError):
    """grpcio missing, a proxy that does not answer, or one asked to wrap a journal."""


def require_grpc() -> None:
    """ProxyError naming the extra when grpcio is not installed."""
    try:
        import google.protobuf  # noqa: F401
        import grpc  # noqa: F401
    except ImportError as exc:
        raise ProxyError(f"the gRPC storage proxy needs grpcio and protobuf ({exc}): "
                         f"{GRPC_EXTRA}") from None


def parse_address(text: str) -> tuple[str, int]:
    """``"host:port"`` (the part after grpc://) -> (host, port); the port defaults to
    13000. ProxyError when the port is not a number."""
    text = text.strip("/")
    host, sep, port = text.rpartition(":")
    if not sep:
        return text or "localhost", DEFAULT_PORT
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ProxyError(f"storage 'grpc://{text}': the port must be a number 1-65535, "
                         "e.g. grpc://db-proxy:13000")
    return host or "localhost", int(port)


def connect(address: str, timeout_s: float | None = None):
    """A ``GrpcStorageProxy`` client of the proxy at ``address`` (host:port), once the
    proxy answers; ProxyError when it does not within ``timeout_s`` (default
    ``CONNECT_TIMEOUT_S``)."""
    require_grpc()
    timeout_s = CONNECT_TIMEOUT_S if timeout_s is None else timeout_s
    import grpc
    from optuna.exceptions import ExperimentalWarning
    from optuna.storages import GrpcStorageProxy

    host, port = parse_address(address)
    channel = grpc.insecure_channel(f"{host}:{port}")
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout_s)
    except grpc.FutureTimeoutError:
        raise ProxyError(f"no gRPC storage proxy answers at {host}:{port} (waited "
                         f"{timeout_s:g} s): start one with nas storage serve --storage URL "
                         f"--port {port}, or check the host and port") from None
    finally:
        channel.close()
    with warnings.catch_warnings():  # optuna marks the proxy experimental: said in the docs
        warnings.simplefilter("ignore", ExperimentalWarning)
        return GrpcStorageProxy(host=host, port=port)


def make_server(storage, host: str, port: int, threads: int = 10):
    """optuna's proxy server for ``storage`` (not started); ``threads`` requests at once."""
    from concurrent.futures import ThreadPoolExecutor

    from optuna.storages._grpc.server import make_server as optuna_server

    return optuna_server(storage, host, port, ThreadPoolExecutor(max_workers=threads))


def cached(storage):
    """``storage`` behind optuna's in-process cache, as optuna advises for the proxy
    (``optuna.storages.get_storage`` does the same)."""
    from optuna.storages._cached_storage import _CachedStorage

    return _CachedStorage(storage)


__all__ = ["DEFAULT_PORT", "GRPC_EXTRA", "ProxyError", "cached", "connect", "make_server",
           "parse_address", "require_grpc"]
