"""The reference stack's optional gateway: nginx (Debian's package) in front of the API.

``python -m stack.gateway`` renders ``nginx.conf`` from its environment into a directory of its
own and replaces itself with nginx on it, so the process a supervisor started *is* nginx (its
signals, its exit, its parent-death signal). See stack/README.md, *Gateway*.
"""
