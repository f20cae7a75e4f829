"""The Docker guard: a policy proxy between the tool forge and the Docker engine.

The forge never holds the engine's socket. It talks to this proxy's unix socket, which lets
through only what ``shared.sandbox`` needs (create a hardened sandbox container, start, attach
without stdin, wait, SIGKILL, remove and inspect *sandbox* containers, list them, ping, version,
info, inspect the sandbox image) and refuses everything else with HTTP 403. See ``policy``.
"""
