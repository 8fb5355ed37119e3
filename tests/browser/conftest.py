"""Headless Debian Chromium driven by Playwright. Installed by `make browser` when missing;
skipped only on a developer machine where it cannot be installed, never in CI."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
# No background traffic: the machine has no network beyond localhost and registries.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage"]


def _chromium() -> str | None:
    if not Path(CHROMIUM).exists() and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["make", "browser"], cwd=ROOT, check=False, timeout=900,
                       stdout=subprocess.DEVNULL)
    return CHROMIUM if Path(CHROMIUM).exists() else None


# Module scope: Playwright's sync API drives its own event loop on this thread, which must
# be gone before any asyncio test of another module runs.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = _chromium()
    if path is None:
        if os.environ.get("CI") or os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("Chromium is required in CI but could not be installed (make browser)")
        pytest.skip("Chromium is not installed and cannot be (run `make browser` as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=ARGS)
        yield b
        b.close()
