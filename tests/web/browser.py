"""Headless Chromium from the system packages, driven by Selenium.

Nothing is downloaded at run time: the browser is ``/usr/bin/chromium`` and
the driver ``/usr/bin/chromedriver`` (Debian's ``chromium`` and
``chromium-driver``; CI installs them). Without them the browser tests skip
and say why. Each browser gets a fresh profile directory and no background
networking, so a test run touches nothing but the loopback server under test.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1200,1000",
)


def require_chromium() -> None:
    if not (CHROMIUM.exists() or shutil.which("chromium")) or not CHROMEDRIVER.exists():
        pytest.skip(
            "chromium is not installed: apt-get install chromium chromium-driver "
            "(CI installs them; .ci/run)"
        )


@contextmanager
def chromium(profile: Path, *, javascript: bool = True) -> Iterator[object]:
    """A headless Chromium; ``javascript=False`` checks a page works without scripts."""
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium"))
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
