"""``python -m cli``: the same as the ``batos`` console script."""

from cli.main import app

app(prog_name="batos")
