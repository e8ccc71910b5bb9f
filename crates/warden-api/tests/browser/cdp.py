#!/usr/bin/env python3
"""Drives headless Chromium over the DevTools protocol on a pipe
(--remote-debugging-pipe: no network port, no extra Python package).

Usage: cdp.py OUT_DIR STEP...   where each STEP is a JSON object:
  {"open": URL, "lang": "zh-CN", "name": "view-en"}   load a page
  {"click": "input[value=not_me]"}                    click an element (a real
                                                        mouse event at its centre)
  {"submit": "button[type=submit]", "name": "done"}   click and wait for the
                                                        next page to load
  {"open": URL, "headers": {"Authorization": "Bearer K"}, "name": "report"}
                                                      load a page sending
                                                        these headers
After each step with a "name", OUT_DIR/<name>.html holds the DOM and
OUT_DIR/<name>.png a screenshot. Prints one JSON line per named step:
{"name", "status", "url", "errors"} (the HTTP status of the main document;
the console errors, uncaught exceptions and browser log errors — a CSP
violation, a failed request — since the step before).
"""

import base64
import json
import os
import subprocess
import sys
import tempfile
import time

TIMEOUT = 30


class Browser:
    def __init__(self, out_dir):
        self.out = out_dir
        self.profile = tempfile.mkdtemp(dir=out_dir, prefix="profile-")
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def fds():
            # Copies first: a pipe end may already be fd 3 or 4 (and is
            # close-on-exec); dup2 makes the copies inheritable.
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        exe = os.environ.get("CHROMIUM", "chromium")
        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-dev-shm-usage", "--no-first-run",
             "--no-default-browser-check", "--remote-debugging-pipe",
             "--window-size=900,1000",
             f"--user-data-dir={self.profile}", "about:blank"],
            preexec_fn=fds, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.errors = []
        self.session = None
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable")
        self.call("Network.enable")
        self.call("Runtime.enable")
        self.call("Log.enable")

    def read_message(self, deadline):
        while b"\0" not in self.buf:
            if time.time() > deadline:
                raise TimeoutError("no answer from chromium")
            chunk = os.read(self.from_chrome, 65536)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        m = json.loads(msg)
        self.note_error(m)
        return m

    def note_error(self, m):
        """Keeps what the page's console and the browser's log call errors."""
        method, p = m.get("method"), m.get("params", {})
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            self.errors.append(" ".join(str(a.get("value", a.get("description", "")))
                                        for a in p.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            self.errors.append(d.get("exception", {}).get("description") or d.get("text", "exception"))
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            self.errors.append(f'{e.get("source")}: {e.get("text")} {e.get("url", "")}'.strip())

    def call(self, method, params=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if self.session:
            msg["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + TIMEOUT
        while True:
            m = self.read_message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_load(self):
        """Waits for the main frame's load; returns the document's status."""
        deadline = time.time() + TIMEOUT
        status = None
        while True:
            while self.events:
                m = self.events.pop(0)
                if m.get("method") == "Network.responseReceived" and \
                        m["params"].get("type") == "Document":
                    status = m["params"]["response"]["status"]
                if m.get("method") == "Page.loadEventFired":
                    return status
            self.events.append(self.read_message(deadline))

    def evaluate(self, expr):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True})
        return r["result"].get("value")

    def save(self, name, status):
        html = self.evaluate("document.documentElement.outerHTML")
        with open(os.path.join(self.out, name + ".html"), "w", encoding="utf-8") as f:
            f.write(html)
        shot = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        with open(os.path.join(self.out, name + ".png"), "wb") as f:
            f.write(base64.b64decode(shot))
        url = self.evaluate("location.href")
        errors, self.errors = self.errors, []
        print(json.dumps({"name": name, "status": status, "url": url, "errors": errors}),
              flush=True)

    def click(self, selector):
        box = self.evaluate(
            "(() => { const e = document.querySelector(%s); if (!e) return null;"
            " e.scrollIntoView(); const r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()" % json.dumps(selector))
        if box is None:
            raise RuntimeError(f"no element {selector}")
        x, y = box
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent",
                      {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})

    def close(self):
        self.proc.kill()
        self.proc.wait()


def main():
    out = sys.argv[1]
    steps = [json.loads(s) for s in sys.argv[2:]]
    b = Browser(out)
    try:
        for step in steps:
            if "open" in step:
                headers = dict(step.get("headers", {}))
                if "lang" in step:
                    headers["Accept-Language"] = step["lang"]
                if headers:
                    b.call("Network.setExtraHTTPHeaders", {"headers": headers})
                b.events.clear()
                b.call("Page.navigate", {"url": step["open"]})
                status = b.wait_load()
            elif "click" in step:
                b.click(step["click"])
                status = None
            elif "submit" in step:
                b.events.clear()
                b.click(step["submit"])
                status = b.wait_load()
            if "name" in step:
                b.save(step["name"], status)
    finally:
        b.close()


if __name__ == "__main__":
    main()
