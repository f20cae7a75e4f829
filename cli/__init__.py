"""``batos``: the command-line interface over the BAT OS HTTP API (``services/api``).

It talks HTTP only (httpx), never Redis: ``cli.client`` finds the URL and token and turns
every failure into one line; ``cli.events`` reads ``/v1/events``; ``cli.render`` draws tables;
``cli.main`` holds the Typer app and its command groups.
"""
