"""``python -m gauntlet.scenarios._locust_main``: Locust's own CLI with gauntlet's sample
capture loaded.

Importing :mod:`gauntlet.scenarios.capture` before Locust parses the locustfiles registers the
raw-sample listener in this process and in every worker it forks (``--processes``), so any
plain locustfile is captured without changes. Run by the harness in its own process:
``import locust`` monkey-patches the interpreter with gevent. :mod:`gauntlet.scenarios.ship`
carries remote workers' samples to the master (``gauntlet worker``).

The harness stops Locust with SIGINT (:meth:`gauntlet.scenarios.runner.LoadRun.stop`), and
Locust's main flow turns the ``KeyboardInterrupt`` into its shutdown: stop the users within
``--stop-timeout``, write the stats. Left to Python, though, the exception is raised in
whatever greenlet runs when the signal arrives — a user's task, a realtime connection's reader,
the capture's flusher — and that greenlet dies on the spot, mid-record, while the others run on
for the stop timeout: a client that had just been acknowledged a message never records its
delivery, and the record says the service lost it. :func:`interrupt_main_only` has gevent's
loop take the signal instead, and raise it in the main greenlet alone.
"""

import signal
from typing import Any

import gevent
from gevent import monkey

monkey.patch_all()

from gauntlet.scenarios import ship  # noqa: E402  (inert unless a remote master or worker)

# a `gauntlet worker`: the run's settings from the master, before the capture and the
# locustfiles read them at import
ship.receive_settings()

from locust.main import main  # noqa: E402

import gauntlet.scenarios.capture  # noqa: E402  (registers listeners)
import gauntlet.scenarios.openmodel  # noqa: E402,F401

_handlers: list[Any] = []  # gevent asks that a handler's object be kept alive while it should fire


def _interrupt() -> None:
    # run in a greenlet of its own: a system error for gevent's hub, which throws it into the
    # main greenlet, where Locust's main() catches it and shuts down (raising it here would do
    # the same, and print a traceback in locust.log first)
    gevent.get_hub().handle_system_error(KeyboardInterrupt, KeyboardInterrupt())


def interrupt_main_only() -> None:
    """SIGINT through gevent's loop: ``KeyboardInterrupt`` in the main greenlet only, once the
    running greenlet yields, never in the middle of a user's or a listener's code."""
    _handlers.append(gevent.signal_handler(signal.SIGINT, _interrupt))


if __name__ == "__main__":
    interrupt_main_only()
    main()
