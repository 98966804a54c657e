"""Fixtures for the export tests (helpers and sample text in export_helpers.py)."""

from __future__ import annotations

import random

import pytest
from export_helpers import SAMPLES, Sample, add_formulation, add_sample

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.patients.nhs_number import test_range_numbers


@pytest.fixture
def nhs_numbers():  # noqa: ANN201
    return test_range_numbers(random.Random(7))


@pytest.fixture
def samples(session: Session, nhs_numbers) -> dict[str, Sample]:  # noqa: ANN001
    out = {key: add_sample(session, key, nhs=next(nhs_numbers)) for key in SAMPLES}
    add_formulation(session, out["latin"].patient_id)
    return out
