pipx install ./gauntlet        # the clone (or: uv tool install ./gauntlet; pip install ./gauntlet in a venv)
gauntlet install toxiproxy     # builds Toxiproxy with Go, where gauntlet finds it (about a minute)
gauntlet doctor                # what else each backend needs, and the command that installs it
