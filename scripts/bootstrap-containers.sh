#!/usr/bin/env bash
# Idempotent set-up of the compose backend on Debian 12, for machines that cannot pull images
# (our CI has no container registry). Each step checks before it acts:
#
#   1. a Docker engine: apt `docker.io`, `dockerd` started in the background if `docker info` fails
#   2. Docker Compose v2 built with Go and installed as the docker CLI plugin, if missing
#   3. a Debian base image made with debootstrap from the machine's own apt mirror, if missing
#   4. local stand-ins FROM that base: postgres (postgresql-15), redis (redis-server), toxiproxy
#      (the Go-built server/cli), and the app from stack/Dockerfile, each only if missing (the
#      app also when stack/ or requirements-dev.lock changed since it was built)
#   5. `export GAUNTLET_IMAGE_...=...` lines on stdout, also written to docker/images.env
#      (git-ignored; the compose backend reads it, environment variables still win)
#
#   With --rabbitmq, also a RabbitMQ stand-in (rabbitmq-server), for the notification queue's
#   compose file (stack/docker-compose.notify.yml); with --pgbouncer, a PgBouncer stand-in
#   (pgbouncer), for stack/docker-compose.pgbouncer.yml; with --gateway, the app image plus
#   nginx-light, for the gateway pair's stack/docker-compose.gateway.yml. They are left out by
#   default: no test of the default command needs them, and a fresh machine saves their builds.
#
# Usage: scripts/bootstrap-containers.sh [--rebuild] [--rabbitmq] [--pgbouncer] [--gateway]
#        (--rebuild: build every image again)
# Runs as root, or with sudo for the system steps. Progress goes to stderr, details to a log;
# a failure exits non-zero with one line that names the step and the log.
set -euo pipefail
PATH=$PATH:/usr/sbin:/sbin   # dockerd and debootstrap live there; not on a user's PATH
cd "$(dirname "$0")/.."
ROOT=$PWD

COMPOSE_VERSION=v2.35.0      # last v2 tag `go install` accepts (no `exclude` in its go.mod)
TOXIPROXY_VERSION=v2.12.0
SUITE=bookworm
BASE_IMAGE=${GAUNTLET_IMAGE_BASE:-gauntlet-base:bookworm}
PYTHON_IMAGE=${GAUNTLET_IMAGE_PYTHON:-gauntlet-python:3.11-bookworm}
POSTGRES_IMAGE=gauntlet-postgres:15
REDIS_IMAGE=gauntlet-redis:7
RABBITMQ_IMAGE=gauntlet-rabbitmq:3
PGBOUNCER_IMAGE=gauntlet-pgbouncer:1
GATEWAY_IMAGE=gauntlet-gateway:dev
# the digest of gauntlet's HTTP toxics' sources (gauntlet/toxiproxy_source.py), in the image's tag
HTTP_TOXICS_REVISION=$(python3 -c \
    'from gauntlet.toxiproxy_source import source_revision; print(source_revision())')
TOXIPROXY_IMAGE=gauntlet-toxiproxy:${TOXIPROXY_VERSION#v}-http-$HTTP_TOXICS_REVISION
APP_IMAGE=gauntlet-stack:dev
IMAGES_ENV=$ROOT/docker/images.env
VENV=${GAUNTLET_VENV:-$ROOT/.venv}
DOCKERD_LOG=${GAUNTLET_DOCKERD_LOG:-/var/log/gauntlet-dockerd.log}
LOG=$(mktemp "${TMPDIR:-/tmp}/gauntlet-bootstrap.XXXXXX.log")

REBUILD=0
RABBITMQ=0
PGBOUNCER=0
GATEWAY=0
for arg in "$@"; do
    case $arg in
        --rebuild) REBUILD=1 ;;
        --rabbitmq) RABBITMQ=1 ;;
        --pgbouncer) PGBOUNCER=1 ;;
        --gateway) GATEWAY=1 ;;
        -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bootstrap-containers: unknown argument $arg (try --help)" >&2; exit 2 ;;
    esac
done

STEP="start"
STARTED=$SECONDS
log() { printf '[bootstrap-containers %3ds] %s\n' "$((SECONDS - STARTED))" "$*" >&2; }
REPORTED=0
die() { echo "bootstrap-containers: $STEP failed: $* (log: $LOG)" >&2; REPORTED=1; exit 1; }
SUDO=""
SCRATCH=()   # temp dirs, removed however the script ends
on_exit() {
    local rc=$?
    [ ${#SCRATCH[@]} -eq 0 ] || $SUDO rm -rf "${SCRATCH[@]}"
    if [ $rc -ne 0 ] && [ "$STEP" != done ] && [ "$REPORTED" = 0 ]; then
        echo "bootstrap-containers: $STEP failed (exit $rc): $(tail -n 1 "$LOG" 2>/dev/null) (log: $LOG)" >&2
    fi
}
trap on_exit EXIT
# run CMD... with its output in the log; on failure, the EXIT trap prints the one line
quiet() { "$@" >>"$LOG" 2>&1; }

if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { STEP="privileges"; die "not root and no sudo"; }
    SUDO="sudo"
fi
apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    quiet $SUDO apt-get update -qq
    quiet $SUDO apt-get install -y -qq --no-install-recommends "$@"
}
find_go() {
    command -v go >/dev/null 2>&1 && return 0
    for d in /usr/local/go/bin /usr/lib/go/bin "$HOME/go/bin"; do
        if [ -x "$d/go" ]; then PATH="$d:$PATH"; return 0; fi
    done
    return 1
}
have_image() { [ "$REBUILD" = 0 ] && docker image inspect "$1" >/dev/null 2>&1; }
# build TAG CONTEXT [docker build args...]; the legacy builder is enough and needs no buildx
build() {
    local tag=$1 context=$2; shift 2
    log "building $tag"
    DOCKER_BUILDKIT=0 quiet docker build --pull=false --force-rm -t "$tag" "$@" "$context"
}

# -- 1. Docker engine ---------------------------------------------------------------------------
STEP="docker engine"
if ! docker info >/dev/null 2>&1; then
    if ! command -v dockerd >/dev/null 2>&1; then
        log "installing docker.io"
        apt_install docker.io
    fi
    if ! docker info >/dev/null 2>&1; then
        if pgrep -x dockerd >/dev/null 2>&1; then
            sleep 2   # a dockerd that is still starting, or one we cannot talk to
        elif [ -d /run/systemd/system ]; then
            log "starting docker with systemd"
            quiet $SUDO systemctl start docker
        else
            log "starting dockerd in the background (log: $DOCKERD_LOG)"
            $SUDO sh -c "setsid nohup dockerd >>'$DOCKERD_LOG' 2>&1 </dev/null &"
        fi
        for _ in $(seq 1 120); do
            docker info >/dev/null 2>&1 && break
            sleep 0.5
        done
        docker info >/dev/null 2>&1 || die "docker info still failing after 60 s (see $DOCKERD_LOG; not in the docker group?)"
    fi
fi
log "docker engine $(docker version --format '{{.Server.Version}}' 2>/dev/null)"

# -- 2. Compose v2 ------------------------------------------------------------------------------
STEP="docker compose"
if ! docker compose version >/dev/null 2>&1; then
    find_go || die "Go is needed to build compose $COMPOSE_VERSION (Debian's golang is too old; install Go >= 1.23)"
    log "building docker compose $COMPOSE_VERSION with Go (about 2 minutes the first time)"
    gobin=$(mktemp -d)
    SCRATCH+=("$gobin")
    quiet env GOBIN="$gobin" go install \
        -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" \
        "github.com/docker/compose/v2/cmd@$COMPOSE_VERSION"
    if [ "$(id -u)" -eq 0 ]; then plugins=/usr/local/lib/docker/cli-plugins; else plugins=$HOME/.docker/cli-plugins; fi
    mkdir -p "$plugins"
    install -m 0755 "$gobin/cmd" "$plugins/docker-compose"
    rm -rf "$gobin"
    docker compose version >/dev/null 2>&1 || die "docker compose version fails after installing $plugins/docker-compose"
fi
log "$(docker compose version 2>/dev/null | head -n 1)"

# -- 3. Debian base image -----------------------------------------------------------------------
# The mirror is the one the machine's own apt uses (deb822 or one-line sources), so the build
# works wherever apt works; GAUNTLET_DEBIAN_MIRROR overrides it.
debian_mirror() {
    local suite=$1
    {
        awk -v s="$suite" '
            /^[[:space:]]*$/ { if (u != "" && hit) { print u; exit } u=""; hit=0; next }
            tolower($1) == "uris:" { u=$2 }
            tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == s) hit=1 }
            END { if (u != "" && hit) print u }
        ' /etc/apt/sources.list.d/*.sources 2>/dev/null
        awk -v s="$suite" '$1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i+1) == s) print $i }' \
            /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
    } | grep -m 1 -E '^https?://' || true
}
STEP="base image"
if ! have_image "$BASE_IMAGE"; then
    mirror=${GAUNTLET_DEBIAN_MIRROR:-$(debian_mirror "$SUITE")}
    [ -n "$mirror" ] || die "no Debian mirror for $SUITE in /etc/apt/sources* (set GAUNTLET_DEBIAN_MIRROR)"
    security=$(debian_mirror "$SUITE-security")
    command -v debootstrap >/dev/null 2>&1 || { log "installing debootstrap"; apt_install debootstrap; }
    # Debian's keyring: present on Debian, needed to verify the suite on Ubuntu runners
    [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || apt_install debian-archive-keyring
    log "debootstrap --variant=minbase $SUITE from $mirror (about 45 s)"
    rootfs=$($SUDO mktemp -d /var/tmp/gauntlet-rootfs.XXXXXX)
    SCRATCH+=("$rootfs")
    quiet $SUDO debootstrap --variant=minbase "$SUITE" "$rootfs" "$mirror"
    # slim and predictable: no docs/locales/man in derived images, no recommends, apt cache gone
    $SUDO sh -c "
        printf 'path-exclude=/usr/share/doc/*\npath-include=/usr/share/doc/*/copyright\npath-exclude=/usr/share/man/*\npath-exclude=/usr/share/locale/*\npath-exclude=/usr/share/info/*\n' > '$rootfs/etc/dpkg/dpkg.cfg.d/01-gauntlet-slim'
        printf 'APT::Install-Recommends \"false\";\nAPT::Install-Suggests \"false\";\n' > '$rootfs/etc/apt/apt.conf.d/01-gauntlet-norecommends'
        { echo 'deb $mirror $SUITE main'; echo 'deb $mirror $SUITE-updates main'; [ -z '$security' ] || echo 'deb $security $SUITE-security main'; } > '$rootfs/etc/apt/sources.list'
        rm -rf '$rootfs'/var/cache/apt/archives/*.deb '$rootfs'/var/cache/apt/*.bin '$rootfs'/var/lib/apt/lists/* '$rootfs'/usr/share/doc/* '$rootfs'/usr/share/man/* '$rootfs'/usr/share/locale/*
    "
    log "importing $BASE_IMAGE"
    $SUDO tar -C "$rootfs" -c . | quiet docker import -c 'ENV LANG=C.UTF-8' -c 'CMD ["/bin/bash"]' - "$BASE_IMAGE"
    $SUDO rm -rf "$rootfs"
fi

# -- 4. stand-in images -------------------------------------------------------------------------
STEP="postgres image"
have_image "$POSTGRES_IMAGE" || build "$POSTGRES_IMAGE" docker/postgres --build-arg "BASE_IMAGE=$BASE_IMAGE"

STEP="redis image"
have_image "$REDIS_IMAGE" || build "$REDIS_IMAGE" docker/redis --build-arg "BASE_IMAGE=$BASE_IMAGE"

STEP="rabbitmq image"
if [ "$RABBITMQ" = 1 ] && ! have_image "$RABBITMQ_IMAGE"; then
    build "$RABBITMQ_IMAGE" docker/rabbitmq --build-arg "BASE_IMAGE=$BASE_IMAGE"
fi

STEP="pgbouncer image"
if [ "$PGBOUNCER" = 1 ] && ! have_image "$PGBOUNCER_IMAGE"; then
    build "$PGBOUNCER_IMAGE" docker/pgbouncer --build-arg "BASE_IMAGE=$BASE_IMAGE"
fi

STEP="toxiproxy image"
if ! have_image "$TOXIPROXY_IMAGE"; then
    ctx=$(mktemp -d)
    SCRATCH+=("$ctx")
    cp docker/toxiproxy/Dockerfile "$ctx/"
    if [ -x "$VENV/bin/toxiproxy-server" ] && [ -x "$VENV/bin/toxiproxy-cli" ] \
        && "$VENV/bin/toxiproxy-server" -version | grep -q "gauntlet http toxics $HTTP_TOXICS_REVISION)"; then
        cp "$VENV/bin/toxiproxy-server" "$VENV/bin/toxiproxy-cli" "$ctx/"   # from scripts/setup.sh
    else  # the same build as `gauntlet install toxiproxy`: the server with gauntlet's HTTP toxics
        find_go || die "Go is needed to build toxiproxy $TOXIPROXY_VERSION"
        log "building toxiproxy $TOXIPROXY_VERSION with Go"
        stamp="-X github.com/Shopify/toxiproxy/v2.Version=${TOXIPROXY_VERSION#v}"
        (cd gauntlet/toxiproxy && quiet go build -ldflags "$stamp -X main.Revision=$HTTP_TOXICS_REVISION" \
            -o "$ctx/toxiproxy-server" ./cmd/toxiproxy-server)
        quiet env GOBIN="$ctx" go install -ldflags "$stamp" "github.com/Shopify/toxiproxy/v2/cmd/cli@$TOXIPROXY_VERSION"
        mv "$ctx/cli" "$ctx/toxiproxy-cli"
    fi
    build "$TOXIPROXY_IMAGE" "$ctx" --build-arg "BASE_IMAGE=$BASE_IMAGE"
    rm -rf "$ctx"
fi

STEP="python base image"
have_image "$PYTHON_IMAGE" || build "$PYTHON_IMAGE" docker/python --build-arg "BASE_IMAGE=$BASE_IMAGE"

# The app: stack/Dockerfile on the Debian python base, its locked dependencies from a wheelhouse
# built on the host (pip inside a build has no CA bundle here). The package names are the
# STACK_PACKAGES default in stack/Dockerfile, their versions those of requirements-dev.lock.
# The image is labelled with a digest of what it was built from (stack/ and the lock) and
# rebuilt when that changes, so a stale image never tests old code.
stack_digest() {
    find stack requirements-dev.lock -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 \
        | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16
}
image_digest() {
    docker image inspect --format '{{ index .Config.Labels "org.gauntlet.stack-digest" }}' "$1" 2>/dev/null || true
}
# wheelhouse DIR REQS: wheels of the packages REQS names, at the versions of requirements-dev.lock,
# resolved by the python image's own interpreter (Debian's 3.11.2 needs async-timeout, a newer
# host 3.11 does not) in a throw-away container with the host's CA bundle and proxy settings
# (pip inside a build has no CA bundle here). Kept while the pins and the python image stay.
wheelhouse() {
    local dir=$1 reqs=$2 stamp cert cache
    stamp="$(docker image inspect --format '{{.Id}}' "$PYTHON_IMAGE") $(cat "$reqs" requirements-dev.lock | sha256sum | cut -c1-16)"
    if [ "$(cat "$dir/.stamp" 2>/dev/null)" = "$stamp" ] && [ "$REBUILD" = 0 ]; then
        return 0
    fi
    cert=${PIP_CERT:-$($pip config get global.cert 2>/dev/null || true)}
    [ -f "$cert" ] || cert=/etc/ssl/certs/ca-certificates.crt
    cache=${XDG_CACHE_HOME:-$HOME/.cache}/gauntlet/pip-docker
    rm -rf "$dir"
    mkdir -p "$dir" "$cache"
    cp "$reqs" "$dir/requirements.txt"
    cp requirements-dev.lock "$dir/constraints.txt"
    log "wheelhouse for $(wc -l < "$reqs") packages -> $dir"
    local cert_args=()
    [ -f "$cert" ] && cert_args=(-v "$cert:/etc/gauntlet-ca.crt:ro" -e PIP_CERT=/etc/gauntlet-ca.crt)
    quiet docker run --rm --user "$(id -u):$(id -g)" -e HOME=/tmp -e PIP_CACHE_DIR=/cache \
        -e PIP_INDEX_URL -e PIP_EXTRA_INDEX_URL -e PIP_TRUSTED_HOST -e PIP_DEFAULT_TIMEOUT \
        -e HTTP_PROXY -e HTTPS_PROXY -e NO_PROXY -e http_proxy -e https_proxy -e no_proxy \
        "${cert_args[@]}" -v "$ROOT/$dir:/wheels" -v "$cache:/cache" \
        "$PYTHON_IMAGE" sh -c 'python3 -m venv /tmp/v && /tmp/v/bin/pip wheel -q \
            --disable-pip-version-check -w /wheels -r /wheels/requirements.txt \
            -c /wheels/constraints.txt'
    echo "$stamp" > "$dir/.stamp"
}
pip=$VENV/bin/pip
[ -x "$pip" ] || pip="python3 -m pip"

STEP="app image"
digest=$(stack_digest)
if [ ! -f stack/api/__main__.py ] || [ ! -f stack/upstream/__main__.py ]; then
    log "stack/api/__main__.py or stack/upstream/__main__.py missing: app image not built yet"
elif ! have_image "$APP_IMAGE" || [ "$(image_digest "$APP_IMAGE")" != "$digest" ]; then
    packages=$(sed -n 's/^ARG STACK_PACKAGES="\(.*\)"$/\1/p' stack/Dockerfile)
    [ -n "$packages" ] || die "no ARG STACK_PACKAGES=\"...\" line in stack/Dockerfile"
    reqs=$(mktemp)
    SCRATCH+=("$reqs")
    for p in $packages; do
        grep -qi "^$p==" requirements-dev.lock || die "not in requirements-dev.lock: $p"
        echo "$p"
    done > "$reqs"
    wheelhouse docker/wheels "$reqs"
    previous=$(docker image inspect --format '{{.Id}}' "$APP_IMAGE" 2>/dev/null || true)
    build "$APP_IMAGE" . -f stack/Dockerfile --build-arg "BASE_IMAGE=$PYTHON_IMAGE" \
        --label "org.gauntlet.stack-digest=$digest"
    # the image it replaces would linger untagged; one still used by a container stays
    if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect --format '{{.Id}}' "$APP_IMAGE")" ]; then
        docker rmi "$previous" >/dev/null 2>&1 || true
    fi
    quiet docker image prune -f --filter label=org.gauntlet.stage=deps
fi

STEP="gateway image"
# FROM the app image: built again whenever the app image it was built on is not the current one
gateway_current() {
    local app_id built_on
    app_id=$(docker image inspect --format '{{.Id}}' "$APP_IMAGE" 2>/dev/null) || return 1
    built_on=$(docker image inspect --format '{{index .Config.Labels "org.gauntlet.app-id"}}' \
        "$GATEWAY_IMAGE" 2>/dev/null) || return 1
    [ "$built_on" = "$app_id" ]
}
if [ "$GATEWAY" = 1 ]; then
    docker image inspect "$APP_IMAGE" >/dev/null 2>&1 \
        || die "--gateway builds FROM $APP_IMAGE, which is not built (stack/ missing?)"
    if [ "$REBUILD" = 1 ] || ! gateway_current; then
        build "$GATEWAY_IMAGE" docker/gateway --build-arg "APP_IMAGE=$APP_IMAGE" \
            --label "org.gauntlet.app-id=$(docker image inspect --format '{{.Id}}' "$APP_IMAGE")"
    fi
fi

# -- 4b. the Node reference service's image (examples/node-stack), rebuilt when its sources change
STEP="node-stack image"
SCRIBE_IMAGE=${SCRIBE_IMAGE:-scribe:dev}
scribe_digest=$(cd examples/node-stack && cat package-lock.json Dockerfile server.js summarizer.js \
    $(find src -type f | sort) | sha256sum | cut -c1-16)
scribe_stamp=examples/node-stack/.image-digest
if [ "$REBUILD" = 1 ] || ! have_image "$SCRIBE_IMAGE" \
        || [ "$(cat "$scribe_stamp" 2>/dev/null)" != "$scribe_digest" ]; then
    log "building $SCRIBE_IMAGE (examples/node-stack)"
    GAUNTLET_IMAGE_BASE=$BASE_IMAGE SCRIBE_IMAGE=$SCRIBE_IMAGE \
        quiet bash examples/node-stack/docker/build-image.sh
    echo "$scribe_digest" > "$scribe_stamp"
fi

# -- 4c. the operator image (docs/kubernetes.md): gauntlet itself, for the Locust operator's roles
STEP="operator image"
OPERATOR_IMAGE=${GAUNTLET_IMAGE_OPERATOR:-gauntlet-operator:dev}
operator_digest=$(find -L gauntlet docker/operator pyproject.toml requirements-dev.lock -type f \
    ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum \
    | sha256sum | cut -c1-16)
if ! have_image "$OPERATOR_IMAGE" || [ "$(image_digest "$OPERATOR_IMAGE")" != "$operator_digest" ]; then
    reqs=$(mktemp)
    SCRATCH+=("$reqs")
    # the runtime dependencies pyproject.toml declares (extras kept), pinned by the lock
    python3 -c 'import re, tomllib
for dep in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]:
    print(re.match(r"[A-Za-z0-9_.-]+(\[[^]]+\])?", dep).group(0))' > "$reqs"
    wheelhouse docker/wheels-operator "$reqs"
    context=$(mktemp -d)
    SCRATCH+=("$context")
    cp -rL gauntlet "$context/gauntlet"
    find "$context/gauntlet" -name __pycache__ -prune -exec rm -rf {} +
    cp -r docker/wheels-operator "$context/wheels"
    cp docker/operator/Dockerfile docker/operator/entrypoint.sh "$context/"
    previous=$(docker image inspect --format '{{.Id}}' "$OPERATOR_IMAGE" 2>/dev/null || true)
    build "$OPERATOR_IMAGE" "$context" --build-arg "BASE_IMAGE=$PYTHON_IMAGE" \
        --label "org.gauntlet.stack-digest=$operator_digest"
    if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect --format '{{.Id}}' "$OPERATOR_IMAGE")" ]; then
        docker rmi "$previous" >/dev/null 2>&1 || true
    fi
fi

# -- 5. image variables -------------------------------------------------------------------------
STEP="images.env"
{
    echo "# written by scripts/bootstrap-containers.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ); read by gauntlet/boot/engine.py"
    echo "export GAUNTLET_IMAGE_POSTGRES=$POSTGRES_IMAGE"
    echo "export GAUNTLET_IMAGE_REDIS=$REDIS_IMAGE"
    # built now or by an earlier --rabbitmq run: compose then needs no registry for it
    if docker image inspect "$RABBITMQ_IMAGE" >/dev/null 2>&1; then echo "export GAUNTLET_IMAGE_RABBITMQ=$RABBITMQ_IMAGE"; fi
    if docker image inspect "$PGBOUNCER_IMAGE" >/dev/null 2>&1; then echo "export GAUNTLET_IMAGE_PGBOUNCER=$PGBOUNCER_IMAGE"; fi
    # only one built on the current app image: an older one runs older stack/gateway code
    if gateway_current; then echo "export GAUNTLET_IMAGE_GATEWAY=$GATEWAY_IMAGE"; fi
    echo "export GAUNTLET_IMAGE_TOXIPROXY=$TOXIPROXY_IMAGE"
    echo "export GAUNTLET_IMAGE_APP=$APP_IMAGE"
    echo "export SCRIBE_IMAGE=$SCRIBE_IMAGE"
    echo "export GAUNTLET_IMAGE_OPERATOR=$OPERATOR_IMAGE"
} > "$IMAGES_ENV.tmp"
mv "$IMAGES_ENV.tmp" "$IMAGES_ENV"
grep '^export ' "$IMAGES_ENV"
STEP=done
log "ready in $((SECONDS - STARTED)) s; images written to ${IMAGES_ENV#"$ROOT"/}"
rm -f "$LOG"
