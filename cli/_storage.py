"""Many machines: the ``--artifacts`` option (kept weights in a shared store,
``nas.artifacts``) of `nas search`, `nas resume` and `nas worker`, and `nas storage serve`
(optuna's gRPC storage proxy, ``nas._grpc``)."""

from __future__ import annotations

import typer

from cli._common import console, fail

ARTIFACTS_OPTION = typer.Option(
    None, "--artifacts", help="Store kept weights where every machine reads them: a shared "
    "folder or s3://BUCKET (needs boto3). Stored with the run; nas export fetches them.")

app = typer.Typer(help="The study's storage server: a gRPC proxy many workers share.\n\n"
                  "\b\nExample:\n  nas storage serve --storage postgresql://user:pw@db/nas",
                  no_args_is_help=True, add_completion=False, rich_markup_mode=None)


@app.command("serve")
def serve_cmd(
    storage: str = typer.Option(..., "--storage", help="The SQL storage to serve: "
                                "postgresql://..., mysql://... or sqlite:///FILE.db."),
    host: str = typer.Option("0.0.0.0", "--host", help="Address to listen on (0.0.0.0: "
                             "every interface)."),
    port: int = typer.Option(13000, "--port", min=1, max=65535, help="Port to listen on."),
    threads: int = typer.Option(10, "--threads", min=1, help="Requests served at once."),
) -> None:
    """Serve a SQL storage through optuna's gRPC storage proxy until Ctrl-C: workers join
    with --storage grpc://HOST:PORT and share this process's few database connections
    (at most 3) instead of holding a pool each.

    \b
    Examples:
      nas storage serve --storage postgresql://user:pw@db-host/nas --port 13000
      nas worker --storage grpc://proxy-host:13000 --study big
    """
    from nas._grpc import ProxyError, cached, make_server, require_grpc
    from nas.storage import StorageError, open_storage, redact, storage_kind

    try:
        kind = storage_kind(storage)[0]
    except StorageError as exc:
        raise fail(str(exc)) from None
    if kind != "rdb":
        raise fail(f"nas storage serve needs a SQL storage (postgresql://, mysql:// or "
                   f"sqlite:///), got '{redact(storage)}': optuna's proxy does not serve "
                   "a journal file (optuna issue 6084) nor another proxy")
    try:
        require_grpc()
        server = make_server(cached(open_storage(storage)), host, port, threads)
        server.start()
    except (StorageError, ProxyError) as exc:
        raise fail(str(exc)) from None
    except RuntimeError as exc:  # grpc: the port is taken
        raise fail(f"cannot listen on {host}:{port} ({exc}): choose another --port") from None
    console.print(f"serving {redact(storage)} on {host}:{port}; workers join with "
                  f"--storage grpc://HOST:{port}  (Ctrl-C stops)", highlight=False)
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:
        server.stop(grace=2)
