"""The workflow tests count SLA time around the clock, so that what they assert does not hang
on the day and hour they run; business-hours arithmetic has its own tests (test_sla.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from contactcenter.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    sla = settings.file.sla.model_copy(update={"calendar": None})
    return replace(settings, file=settings.file.model_copy(update={"sla": sla}))
