"""Kept weights in an artifact store every machine can read, through optuna's own
``optuna.artifacts`` (no store of our own).

A search given ``artifacts`` (a shared folder, or ``s3://BUCKET``) uploads each kept
weight file with ``optuna.artifacts.upload_artifact``, linked to its trial before the
trial is finished (optuna takes no attribute on a finished trial), and records the
file's SHA-256 beside the link (trial system attribute ``WEIGHTS_ATTR``). Any machine
then fetches it into a cache in its run folder, checks the digest, and loads it with
``weights_only=True`` as it would a local file. A missing or altered artifact is an
``ArtifactError`` that says which trial and which store.

The store keeps the weights of every trial that was among the best K when it finished
(a trial later pushed out keeps its artifact); the run folder's ``weights`` folder keeps
today's best K as before.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

WEIGHTS_ATTR = "nas:weights_artifact"  # trial system attr: {"artifact_id", "sha256", "bytes"}
CACHE = "artifacts"  # the downloaded weights' cache, relative to the run folder
S3_EXTRA = "pip install 'nas-toolkit[s3]'"


class ArtifactError(ValueError):
    """An artifact store that cannot be opened, or kept weights missing from it or
    altered since they were uploaded."""


def check_location(url: str) -> str:
    """``url`` if it names a store ``open_store`` can open (a folder path, file://PATH or
    s3://BUCKET); ArtifactError naming the forms otherwise. Nothing is opened."""
    if not isinstance(url, str) or not url.strip():
        raise ArtifactError(f"artifacts must be a folder path or s3://BUCKET, got {url!r}")
    if "://" not in url or url.startswith("file://"):
        return url
    scheme, rest = url.split("://", 1)
    if scheme.lower() == "s3":
        if not rest.strip("/") or "/" in rest.strip("/"):
            raise ArtifactError(f"artifacts '{url}': give the bucket alone, s3://BUCKET "
                                "(optuna's Boto3ArtifactStore takes no prefix)")
        return url
    raise ArtifactError(f"artifacts '{url}': unknown scheme '{scheme}://'; use a folder "
                        "path every machine mounts, or s3://BUCKET")


def open_store(url: str):
    """The optuna artifact store at ``url``: a ``FileSystemArtifactStore`` for a folder
    (created if missing), a ``Boto3ArtifactStore`` for ``s3://BUCKET`` (needs boto3;
    the endpoint and keys come from boto3's usual environment variables)."""
    from optuna.artifacts import FileSystemArtifactStore

    check_location(url)
    if url.lower().startswith("s3://"):
        try:
            import boto3  # noqa: F401
        except ImportError:
            raise ArtifactError(f"artifacts '{url}' needs boto3, which is not installed: "
                                f"{S3_EXTRA}") from None
        from optuna.artifacts import Boto3ArtifactStore

        return Boto3ArtifactStore(url.split("://", 1)[1].strip("/"))
    path = Path(url.removeprefix("file://"))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArtifactError(f"cannot use artifact folder '{path}': {exc}") from None
    return FileSystemArtifactStore(path)


def sha256_of(path: str | os.PathLike) -> str:
    """The file's SHA-256, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def upload_weights(store, storage, trial_id: int, state_dict: dict) -> str:
    """Save ``state_dict`` (on the CPU), upload it as trial ``trial_id``'s artifact and
    record its digest; the trial must still be running. Returns the artifact id."""
    import torch
    from optuna.artifacts import upload_artifact

    number = storage.get_trial_number_from_id(trial_id)
    with tempfile.TemporaryDirectory(prefix="nas-upload-") as tmp:
        path = Path(tmp) / f"trial_{number}.pt"
        torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, path)
        artifact_id = upload_artifact(artifact_store=store, file_path=str(path),
                                      study_or_trial=storage.get_trial(trial_id),
                                      storage=storage)
        storage.set_trial_system_attr(trial_id, WEIGHTS_ATTR, {
            "artifact_id": artifact_id, "sha256": sha256_of(path),
            "bytes": path.stat().st_size})
    return artifact_id


def among_best(study, value: float, keep: int) -> bool:
    """Whether a trial scoring ``value`` (first objective) would be among the study's
    best ``keep`` completed trials (ties kept: over-keeping costs only space)."""
    first = study.objectives[0]
    better = sum(first.signed(r.values[0]) > first.signed(value) for r in study.ranked())
    return keep > 0 and better < keep


def cache_folder(run_dir: str | os.PathLike | None) -> Path:
    """Where fetched weights go: ``RUN_DIR/artifacts``, or a temporary folder of this
    machine when no run folder is known (a study opened by storage URL alone)."""
    if run_dir is not None:
        return Path(run_dir) / CACHE
    return Path(tempfile.gettempdir()) / "nas-artifacts"


def fetch_weights(study, number: int, run_dir: str | os.PathLike | None = None,
                  location: str | None = None) -> Path | None:
    """The local path of trial ``number``'s weights fetched from the study's artifact
    store (``location``, default the one in its settings), checked against the digest
    recorded at upload; None when the study has no store or the trial no artifact.
    ArtifactError when the artifact is missing from the store or altered."""
    location = location or study.config.get("artifacts")
    if not location:
        return None
    tid = study.storage.get_trial_id_from_study_id_trial_number(study._study_id, number)
    link = study.storage.get_trial_system_attrs(tid).get(WEIGHTS_ATTR)
    if not link:
        return None
    target = cache_folder(run_dir) / f"trial_{number}-{link['artifact_id']}.pt"
    if target.is_file() and sha256_of(target) == link["sha256"]:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    tmp.unlink(missing_ok=True)  # a download cut short before
    _download(open_store(location), link["artifact_id"], tmp, number, location)
    if sha256_of(tmp) != link["sha256"]:
        tmp.unlink(missing_ok=True)
        raise ArtifactError(
            f"the weights of trial {number} in artifact store '{location}' (artifact "
            f"{link['artifact_id']}) do not match the SHA-256 recorded when they were "
            "uploaded: the file was altered or damaged; retrain the trial (nas train "
            f"RUN_DIR --trial {number})")
    os.replace(tmp, target)
    return target


def _download(store, artifact_id: str, path: Path, number: int, location: str) -> None:
    """Download one artifact; a missing one is an ArtifactError naming the trial."""
    from optuna.artifacts import download_artifact
    from optuna.artifacts.exceptions import ArtifactNotFound

    try:
        download_artifact(artifact_store=store, file_path=str(path), artifact_id=artifact_id)
    except (ArtifactNotFound, FileNotFoundError):
        path.unlink(missing_ok=True)
        raise ArtifactError(
            f"the weights of trial {number} (artifact {artifact_id}) are missing from "
            f"artifact store '{location}': check that this machine sees the same store "
            "the workers wrote to") from None


__all__ = ["CACHE", "WEIGHTS_ATTR", "ArtifactError", "among_best", "cache_folder",
           "check_location", "fetch_weights", "open_store", "sha256_of", "upload_weights"]
