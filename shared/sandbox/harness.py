"""The program that calls one tool function INSIDE the sandbox (a string; never run here).

It loads /app/tool.py under the module name ``tool`` (so the tool's ``if __name__ ==
"__main__":`` tests do not run), reads keyword arguments from /app/args.json, calls the function
with the tool's own stdout sent to stderr, and prints exactly one line on stdout: the marker
given as argv[1] followed by ``{"ok": true, "value": ...}`` or ``{"ok": false, "error": {...}}``.
"""

from __future__ import annotations

TOOL_FILE = "tool.py"
ARGS_FILE = "args.json"

HARNESS_SOURCE = r"""
import importlib.util
import json
import os
import sys

marker, function_name = sys.argv[1], sys.argv[2]
result_fd = os.dup(1)
os.dup2(2, 1)  # whatever the tool prints goes to stderr; stdout carries only the result


def emit(payload):
    sys.stdout.flush()
    os.write(result_fd, ("\n" + marker + payload + "\n").encode("utf-8"))


def failure(kind, message, tb=""):
    return json.dumps({"ok": False, "error": {"type": kind, "message": message, "traceback": tb}})


try:
    spec = importlib.util.spec_from_file_location("tool", "/app/tool.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["tool"] = module
    spec.loader.exec_module(module)
    function = getattr(module, function_name, None)
    if not callable(function):
        payload = failure("LookupError", "the tool has no function %r" % function_name)
    else:
        with open("/app/args.json", encoding="utf-8") as f:
            args = json.load(f)
        value = function(**args)
        try:
            payload = json.dumps({"ok": True, "value": value}, allow_nan=False)
        except (TypeError, ValueError) as exc:
            payload = failure(
                "NotSerializable",
                "%s returned %s, which is not JSON-serializable: %s"
                % (function_name, type(value).__name__, exc),
            )
except BaseException as exc:
    import traceback

    payload = failure(type(exc).__name__, str(exc), traceback.format_exc(limit=20))
emit(payload)
"""
