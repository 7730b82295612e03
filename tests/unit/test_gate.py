"""The master's gate on a stand-in for Locust's ZeroMQ server (its logic alone; the real server,
workers and strangers are in tests/e2e/test_workers.py). Run in a child interpreter: importing
Locust monkey-patches this one with gevent."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.e2e.conftest import ROOT

SCRIPT = textwrap.dedent('''
    from collections import deque
    from locust.rpc import Message
    from gauntlet.scenarios import gate
    from gauntlet.scenarios.workerauth import prove

    SECRET = "s" * 32

    class Server:
        def __init__(self):
            self.inbox, self.sent = deque(), []
        def recv_from_client(self):
            return self.inbox.popleft()
        def send_to_client(self, msg):
            self.sent.append(msg)

    class Runner:
        def __init__(self):
            self.server = Server()
        def reset_connection(self):
            self.server = Server()

    def deliver(g, runner, *msgs):
        """Feed messages; what Locust would see of them."""
        out = []
        runner.server.inbox.extend((m.node_id, m) for m in msgs)
        while runner.server.inbox or g.released:
            try:
                out.append(runner.server.recv_from_client())
            except IndexError:
                break
        return out

    def challenge_of(server, client):
        return next(m.data["challenge"] for m in reversed(server.sent)
                    if m.node_id == client and m.type == "gauntlet_challenge")

    runner = Runner()
    g = gate.Gate(runner, SECRET)
    # a stranger's join is held and challenged; a right proof releases it
    assert deliver(g, runner, Message("client_ready", "2.47.0", "w1")) == []
    proof = prove(SECRET, challenge_of(runner.server, "w1"), "w1")
    seen = deliver(g, runner, Message("gauntlet_proof", {"proof": proof}, "w1"))
    assert [(c, m.type) for c, m in seen] == [("w1", "client_ready")]
    # a trusted client speaks only for itself
    seen = deliver(g, runner, Message("heartbeat", {}, "someone-else"))
    assert seen == []  # a stranger's heartbeat: dropped unread, not even challenged
    runner.server.inbox.append(("w1", Message("heartbeat", {}, "w2")))
    assert runner.server.recv_from_client()[1].node_id == "w1"
    # a wrong proof is refused and told; the refused client's messages are dropped after
    deliver(g, runner, Message("client_ready", "2.47.0", "evil"))
    deliver(g, runner, Message("gauntlet_proof", {"proof": "0" * 64}, "evil"))
    assert g.refused == {"evil": "sent a wrong proof: its worker secret is not this run's"}
    assert runner.server.sent[-1].type == "gauntlet_refused"
    assert deliver(g, runner, Message("client_ready", "2.47.0", "evil")) == []
    # a settings request is answered once: another needs another proof
    deliver(g, runner, Message("gauntlet_settings", None, "req"))
    proof = prove(SECRET, challenge_of(runner.server, "req"), "req")
    assert len(deliver(g, runner, Message("gauntlet_proof", {"proof": proof}, "req"))) == 1
    assert deliver(g, runner, Message("gauntlet_settings", None, "req")) == []
    assert "req" in g.pending  # challenged again
    # Locust's reset makes a new server: the gate is on it too
    runner.reset_connection()
    assert deliver(g, runner, Message("client_ready", "2.47.0", "late")) == []
    assert challenge_of(runner.server, "late")
    # pending challenges are bounded: the oldest stranger is given up, and named
    gate.PENDING_MAX = 3
    for i in range(5):
        deliver(g, runner, Message("client_ready", "2.47.0", f"x{i}"))
    assert len(g.pending) == 3 and "req" in g.silent and "late" in g.silent
    print("ok")
''')


def test_the_gate_holds_challenges_releases_refuses_and_survives_a_reset() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stdout + done.stderr
