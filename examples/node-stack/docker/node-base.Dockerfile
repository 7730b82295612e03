# A Node base image where none can be pulled: the project's Debian base (debootstrap, see
# scripts/bootstrap-containers.sh) plus the host's own Node and npm, which
# docker/build-image.sh copies into the build context (node, npm/). Node's binary needs only
# glibc, libstdc++ and libgcc, all in a minbase Debian.
ARG BASE_IMAGE=gauntlet-base:bookworm
FROM ${BASE_IMAGE}
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
