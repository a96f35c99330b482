// pause: the sandbox ("infra") container of every pod on the test harness's real kubelet. It
// holds the pod's namespaces by staying alive and does nothing else until it is told to stop.
// Our own few lines, so the harness needs no image from a registry.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range signals {
		if s == syscall.SIGCHLD {
			reapChildren()
			continue
		}
		// The kubelet stops a sandbox with SIGTERM: exit at once and cleanly.
		os.Exit(0)
	}
}

// With shareProcessNamespace the pause process is the pod's PID 1 and inherits its orphans; reap
// them so they do not stay zombies. One SIGCHLD may stand for several exits, so wait until none
// is left.
func reapChildren() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
