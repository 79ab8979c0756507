//go:build failpoint && unix

package failpoint

import (
	"fmt"
	"os"
	"sync"
	"syscall"
)

// Enabled reports whether the binary was built with failpoints.
const Enabled = true

var (
	mu    sync.Mutex
	count = map[string]int{}
	kill  = os.Getenv(EnvKill)
	trace = os.Getenv(EnvTrace)
)

// Hit counts point name and, if it is the chosen one, kills the process
// at once, as a power cut or the OOM killer would: no deferred function,
// no buffered write survives.
func Hit(name string) {
	mu.Lock()
	defer mu.Unlock()
	count[name]++
	id := fmt.Sprintf("%s#%d", name, count[name])
	if trace != "" {
		if f, err := os.OpenFile(trace, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err == nil {
			fmt.Fprintln(f, id)
			f.Close()
		}
	}
	if id == kill {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}
