"""Many machines: the ``--artifacts`` option (kept weights in a shared store,
``nas.artifacts``) of `nas search`, `nas resume` and `nas worker`."""

from __future__ import annotations

import typer

ARTIFACTS_OPTION = typer.Option(
    None, "--artifacts", help="Store kept weights where every machine reads them: a shared "
    "folder or s3://BUCKET (needs boto3). Stored with the run; nas export fetches them.")
