package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
)

// -generator-nice: the generator below its targets in the CPU scheduler.
//
// The generator stands in for thousands of phones, each with a CPU of its
// own, on the two CPUs of the target. At equal priority, the target's
// goroutines (the store's committer back from its fsync, the meetings it
// wakes, the writers) wait for a CPU behind the generator's. With
// -generator-nice N the generator runs at nice N and starts every target at
// nice 0 (through nice(1), which needs root to go below the generator's
// niceness), so that the targets get the CPUs first, as a server does
// whose clients have CPUs of their own. Both figures are in the report:
// the generator's niceness and the target's, read from /proc.

// setOwnNice sets every thread of this process to nice n. Linux keeps a
// nice value per thread, and a thread made later inherits its maker's: once
// a pass over /proc/self/task finds every thread at n, every later thread
// will be too.
func setOwnNice(n int) error {
	if runtime.GOOS != "linux" {
		return errors.New("-generator-nice: Linux only")
	}
	for range 20 {
		changed := false
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return fmt.Errorf("-generator-nice: %w", err)
		}
		for _, task := range tasks {
			tid, err := strconv.Atoi(task.Name())
			if err != nil {
				continue
			}
			cur, err := readNice(filepath.Join("/proc/self/task", task.Name(), "stat"))
			if err != nil || cur == n {
				continue // a thread that ended meanwhile, or already set
			}
			if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, n); err != nil && !errors.Is(err, syscall.ESRCH) {
				return fmt.Errorf("-generator-nice: set thread %d to nice %d: %w", tid, n, err)
			}
			changed = true
		}
		if !changed {
			return nil
		}
	}
	return errors.New("-generator-nice: threads kept changing")
}

// readNice reads the nice value (field 19) of a /proc stat file.
func readNice(statPath string) (int, error) {
	f, err := statFields(statPath, 19)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(f[19-3])
}

// niceRange is the lowest and the highest nice value among the threads of
// process pid ("self" for the generator).
func niceRange(pid string) (lo, hi int, err error) {
	dir := filepath.Join("/proc", pid, "task")
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, err
	}
	first := true
	for _, task := range tasks {
		n, err := readNice(filepath.Join(dir, task.Name(), "stat"))
		if err != nil {
			continue // ended meanwhile
		}
		if first || n < lo {
			lo = n
		}
		if first || n > hi {
			hi = n
		}
		first = false
	}
	if first {
		return 0, 0, fmt.Errorf("no thread in %s", dir)
	}
	return lo, hi, nil
}
