"""Persistence in Chromium: Python opens a pool persisted in the origin private file
system, writes files and syncs; the page is reloaded (a new Pyodide, the old one gone) and
the pool opened again holds the same files. From the page's main thread (OPFS's
helper worker with synchronous access handles; and, through the JavaScript API, OPFS's
asynchronous API) and from a module worker (synchronous access handles). Two tabs: the
second opener gets EBUSY while the first has the pool open, and may open it once the first
tab is closed. The page is tests/pages/persist.html."""

from __future__ import annotations

import uuid

import pytest
from xmfs_fixtures import wait_for_page


def _run(chrome, url, mode, step, name):
    chrome.get(f"{url}/tests/pages/persist.html?mode={mode}&step={step}&name={name}")
    return wait_for_page(chrome, "globalThis.persistResult", timeout=180)


@pytest.mark.parametrize("mode", ["main", "worker", "jsasync"])
def test_opfs_pool_survives_a_reload(chrome, repo_server, mode):
    name = f"reload-{mode}-{uuid.uuid4().hex[:8]}"
    wrote = _run(chrome, repo_server, mode, "write", name)
    assert wrote.get("error") is None, wrote.get("error")
    assert wrote["check"] == []
    if mode == "jsasync":  # the JavaScript API, OPFS's asynchronous API, in the page
        assert wrote["files"] == 20 and ":False" not in wrote["digest"]
    else:
        assert wrote["files"] == 32
    assert wrote["at"] == f"OPFS extmemfs/{name}"
    assert wrote["sync"]["bytes_written"] > (6 << 20 if mode != "jsasync" else 1 << 20)
    if mode == "worker":
        assert wrote["syncHandles"] is True  # the worker's store uses sync access handles
    # Load the page again: the old page, its Pyodide and its worker are gone; OPFS stays.
    again = _run(chrome, repo_server, mode, "read", name)
    assert again.get("error") is None, again.get("error")
    assert (again["digest"], again["files"]) == (wrote["digest"], wrote["files"])
    assert again["generation"] == wrote["generation"]
    assert again["check"] == []


def test_opfs_pool_second_tab_gets_ebusy_until_the_first_closes(chrome, repo_server):
    name = f"tabs-{uuid.uuid4().hex[:8]}"
    first = _run(chrome, repo_server, "main", "write", name)
    assert first.get("error") is None, first.get("error")
    tab_a = chrome.current_window_handle
    chrome.switch_to.new_window("tab")
    second = _run(chrome, repo_server, "main", "read", name)
    assert "EBUSY" in second.get("error", ""), second
    assert "another tab or worker" in second["error"]
    # The first tab goes away: its Web Lock is released with it.
    chrome.switch_to.window(tab_a)
    chrome.close()
    chrome.switch_to.window(chrome.window_handles[0])
    third = _run(chrome, repo_server, "worker", "close", name)
    assert third.get("error") is None, third.get("error")
    assert (third["digest"], third["files"]) == (first["digest"], first["files"])
