"""Contract suite: every registered space samples, builds, compiles, trains a step,
round-trips through JSON, mutates and crosses over, deterministically per seed (the
suite is nas.testing.SpaceContract, which users run on their own spaces)."""

from __future__ import annotations

import pytest

from nas import list_spaces
from nas.testing import SpaceContract


class TestEverySpace(SpaceContract):
    @pytest.fixture(params=list_spaces())
    def space_under_test(self, request):
        return request.param
