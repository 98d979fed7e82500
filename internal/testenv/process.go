package testenv

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is one program started by this package. It is stopped by its pid
// only: its children are never signalled as a group and nothing is matched
// by name.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid after done is closed
}

// stopTimeout is how long a process gets between SIGTERM and SIGKILL.
const stopTimeout = 15 * time.Second

// startProcess runs path with args and env (env is the whole environment,
// nothing is inherited), its output going to logDir/name.log.
func startProcess(name, path string, args, env []string, logDir string) (*process, error) {
	logPath := filepath.Join(logDir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = env
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Own process group: a Ctrl-C in the terminal reaches only the
		// test binary, which then stops everything in order.
		Setpgid: true,
		// If the test binary dies without cleaning up (go test -timeout
		// panics, SIGKILL), the kernel stops the process anyway.
		Pdeathsig: syscall.SIGTERM,
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	registerSignalHandler()
	registry.mu.Lock()
	err = cmd.Start()
	if err == nil {
		registry.procs = append(registry.procs, p)
	}
	registry.mu.Unlock()
	if err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended, and how.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.waitErr
	default:
		return false, nil
	}
}

// stop ends the process: SIGTERM, then SIGKILL after stopTimeout. It returns
// the peak resident memory the process reached (0 if unknown).
func (p *process) stop() (peakRSS int64) {
	defer unregister(p)
	if done, _ := p.exited(); done {
		return 0
	}
	peakRSS = peakRSSOf(p.cmd.Process.Pid)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	return peakRSS
}

// tail returns the last n lines of the process's log.
func (p *process) tail(n int) string {
	const maxRead = 256 << 10
	f, err := os.Open(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Size() > maxRead {
		_, _ = f.Seek(-maxRead, io.SeekEnd)
	}
	data, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// describe says how the process is doing and shows its log tail, for
// failure messages.
func (p *process) describe(n int) string {
	state := "running"
	if done, err := p.exited(); done {
		state = fmt.Sprintf("exited: %v", err)
		if err == nil {
			state = "exited with status 0"
		}
	}
	return fmt.Sprintf("--- %s (pid %d, %s), last %d lines of %s:\n%s", p.name, p.cmd.Process.Pid, state, n, p.logPath, p.tail(n))
}

// peakRSSOf reads VmHWM, the peak resident set size, from /proc.
func peakRSSOf(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(string(rest)), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// registry holds every running process, in start order, so that a SIGINT
// or SIGTERM to the test binary can stop them in reverse order (controllers,
// then kube-apiserver, then etcd) before the binary dies.
var registry struct {
	mu     sync.Mutex
	procs  []*process
	notify sync.Once
}

func unregister(p *process) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	for i, q := range registry.procs {
		if q == p {
			registry.procs = append(registry.procs[:i], registry.procs[i+1:]...)
			return
		}
	}
}

func registerSignalHandler() {
	registry.notify.Do(func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
		go func() {
			sig := <-ch
			registry.mu.Lock()
			procs := append([]*process(nil), registry.procs...)
			registry.mu.Unlock()
			for i := len(procs) - 1; i >= 0; i-- {
				fmt.Fprintf(os.Stderr, "testenv: %v: stopping %s (pid %d)\n", sig, procs[i].name, procs[i].cmd.Process.Pid)
				procs[i].stop()
			}
			// Die of the same signal, as if it had not been caught. If the
			// signal was ignored when the binary started (a background job
			// of a non-interactive shell), Reset restores "ignored": exit.
			signal.Reset(sig)
			_ = syscall.Kill(os.Getpid(), sig.(syscall.Signal))
			time.Sleep(time.Second)
			os.Exit(128 + int(sig.(syscall.Signal)))
		}()
	})
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// freeAddr returns "127.0.0.1:PORT" for a free port.
func freeAddr() (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}

// waitFor polls check every 100ms until it returns nil, the process exits
// or the timeout passes.
func waitFor(p *process, timeout time.Duration, what string, check func() error) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if last = check(); last == nil {
			return nil
		}
		if done, err := p.exited(); done {
			return fmt.Errorf("%s exited (%v) before %s", p.name, err, what)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: no %s after %v: %w", p.name, what, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func formatBytes(n int64) string {
	return fmt.Sprintf("%d MiB", n>>20)
}
