"""The demo province: a generated province loaded through the platform's public APIs.

`python -m d07.demo seed` (see __main__)."""
