"""Tasks (data, loss, metrics), the trainer and cheap scorers."""
