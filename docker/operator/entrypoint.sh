#!/bin/sh
# The Locust operator passes Locust's arguments; run gauntlet's roles instead.
#   master: <suite path> --master --master-port=5557 --expect-workers=N --autostart --autoquit 60 ...
#   worker: <anything>  --worker --master-port=5557 --master-host=<name>-master
# Checked against locust-k8s-operator 2.3.0 (internal/resources/command.go). Both roles read the
# run's worker secret from $GAUNTLET_WORKER_SECRET (a Kubernetes Secret, env.secretRefs).
set -eu
role=master; host=; port=5557; suite=
for arg in "$@"; do
  case "$arg" in
    --worker) role=worker ;;
    --master-host=*) host="${arg#--master-host=}" ;;
    --master-port=*) port="${arg#--master-port=}" ;;
    -*) ;;
    *) [ -n "$suite" ] || suite="$arg" ;;
  esac
done
if [ "$role" = worker ]; then
  exec gauntlet worker --master "$host:$port"
fi
exec gauntlet run "$suite" --output /runs
