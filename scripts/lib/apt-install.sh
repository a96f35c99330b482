# Sourced by the setup scripts: apt_install_missing PKG... installs the Debian packages not yet
# installed, and nothing else. Packages that ship a service (prometheus, containerd) would start
# the machine's own where systemd runs; the tests start their own, so service starts are blocked
# for the install (policy-rc.d exit 101) unless the machine already has a policy of its own.
# Expects say and die to be defined by the caller.
apt_install_missing() {
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    say "packages present: $*"
    return 0
  fi
  say "installing ${missing[*]}"
  apt-get update -q >&2
  local own_policy=0 status=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    own_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 || status=$?
  ((own_policy)) && rm -f /usr/sbin/policy-rc.d
  ((status == 0)) || die "apt-get install ${missing[*]} failed"
}
