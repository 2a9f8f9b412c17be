"""Every registered primitive: examples and a doc, forward, backward, and inferred shape
== real shape (the suite is nas.testing.OpContract, which users run on their own ops)."""

from __future__ import annotations

import pytest

from nas import list_ops
from nas.testing import OpContract


class TestEveryOp(OpContract):
    @pytest.fixture(params=list_ops())
    def op_under_test(self, request):
        return request.param
