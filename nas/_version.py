"""The package version, read from the installed distribution's metadata when present."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nas-toolkit")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0"
