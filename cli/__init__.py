"""The ``nas`` command line: parses arguments, wires the registries together, prints."""
