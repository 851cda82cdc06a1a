"""The report tests print with the browser tests' headless Chromium."""

from tests.browser.conftest import chromium, chromium_executable

__all__ = ["chromium", "chromium_executable"]
