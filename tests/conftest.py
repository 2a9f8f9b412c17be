"""Test-wide settings: one torch thread (small models; steadier timings under load)."""

import torch

torch.set_num_threads(1)
