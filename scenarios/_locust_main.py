"""``python -m gauntlet.scenarios._locust_main``: Locust's own CLI with gauntlet's sample
capture loaded.

Importing :mod:`gauntlet.scenarios.capture` before Locust parses the locustfiles registers the
raw-sample listener in this process and in every worker it forks (``--processes``), so any
plain locustfile is captured without changes. Run by the harness in its own process:
``import locust`` monkey-patches the interpreter with gevent. :mod:`gauntlet.scenarios.ship`
carries remote workers' samples to the master (``gauntlet worker``).
"""

from gevent import monkey

monkey.patch_all()

from gauntlet.scenarios import ship  # noqa: E402  (inert unless a remote master or worker)

# a `gauntlet worker`: the run's settings from the master, before the capture and the
# locustfiles read them at import
ship.receive_settings()

from locust.main import main  # noqa: E402

import gauntlet.scenarios.capture  # noqa: E402  (registers listeners)
import gauntlet.scenarios.openmodel  # noqa: E402,F401

if __name__ == "__main__":
    main()
