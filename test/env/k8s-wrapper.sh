# Sourced by the builds of Kubernetes commands (build-control-plane.sh, the kubeadm e2e's
# build-node-binaries.sh). k8s.io/kubernetes replaces every staging module with a local path,
# which `go install` refuses: a wrapper module requires it and points each staging module at its
# published v0.X.Y twin; the list is read from the tagged go.mod, so it follows new releases.
#
#   k8s_build VERSION WORKDIR BINDIR CMD...   builds k8s.io/kubernetes/cmd/CMD at VERSION into BINDIR
#
# One `go build` for all commands, so shared packages compile once. Expects `die` from the caller;
# K8S_BUILD_NICE (default 0) lowers the build's priority. The go commands' output goes to
# WORKDIR.logs/; progress.sh says on stderr what runs, for how long, and where that log is.
# shellcheck source=progress.sh
source "$(dirname "${BASH_SOURCE[0]}")/progress.sh"

# In the wrapper module: require k8s.io/kubernetes at VERSION with its staging modules at their twins.
k8s_fetch() {
  local version="$1"
  shift
  local staging_version="v0.${version#v1.}" gomod m
  go mod init local/k8sbins
  gomod=$(go mod download -json "k8s.io/kubernetes@${version}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [[ -f "$gomod" ]] || die "could not download k8s.io/kubernetes@${version}'s go.mod (is the Go module proxy reachable?)"
  mapfile -t staging < <(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod")
  [[ ${#staging[@]} -gt 10 ]] || die "found no staging modules in $gomod"
  for m in "${staging[@]}"; do go mod edit "-replace=$m=$m@$staging_version"; done
  go get "k8s.io/kubernetes@${version}" || die "resolving k8s.io/kubernetes@${version} failed"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for c in "$@"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"; done
    printf ')\n'
  } >tools.go
  go mod tidy -e || true
}

k8s_compile() {
  local version="$1"
  shift
  local minor
  minor=$(echo "$version" | cut -d. -f2)
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=${version} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor} -X k8s.io/client-go/pkg/version.gitVersion=${version}"
  nice -n "${K8S_BUILD_NICE:-0}" go build -v -trimpath -ldflags "$ldflags" -o out/ "${@/#/k8s.io/kubernetes/cmd/}" || die "go build of $* ${version} failed"
}

k8s_build() {
  local version="$1" w="$2" bin="$3"
  shift 3
  local logs="$w.logs"
  rm -rf "$w" "$logs" && mkdir -p "$w/out" "$logs"
  (
    cd "$w" || exit 1
    export CGO_ENABLED=0 GOFLAGS=-mod=mod
    with_progress "fetching k8s.io/kubernetes ${version} and its modules" "$logs/fetch.log" k8s_fetch "$version" "$@" || exit 1
    with_progress "compiling $* ${version}" "$logs/compile.log" k8s_compile "$version" "$@" || exit 1
  ) || die "building $* ${version} failed (logs in $logs)"
  local f
  for f in "$w"/out/*; do mv "$f" "$bin/"; done
}
