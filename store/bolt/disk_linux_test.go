package bolt

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/boucle/designation/store"
)

// failingDisk lets a test make the log file's writes fail, as a broken disk
// would: it swaps the file descriptor bbolt writes to for a read-only one
// on the same file (every write fails, while stat and reads still work, so
// the failure is the write itself), and back.
type failingDisk struct {
	mu    sync.Mutex
	files []*os.File // the log file as bbolt opened it
	saved []int      // duplicates of the real descriptors while failing
}

func (d *failingDisk) open(name string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err == nil {
		d.mu.Lock()
		d.files = append(d.files, f)
		d.mu.Unlock()
	}
	return f, err
}

func (d *failingDisk) fail(t *testing.T) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	f := d.files[len(d.files)-1]
	readOnly, err := os.Open(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer readOnly.Close()
	saved, err := unix.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	d.saved = append(d.saved, saved)
	if err := unix.Dup2(int(readOnly.Fd()), int(f.Fd())); err != nil {
		t.Fatal(err)
	}
}

func (d *failingDisk) repair(t *testing.T) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	f := d.files[len(d.files)-1]
	saved := d.saved[len(d.saved)-1]
	d.saved = d.saved[:len(d.saved)-1]
	if err := unix.Dup2(saved, int(f.Fd())); err != nil {
		t.Fatal(err)
	}
	unix.Close(saved)
}

// TestFailingDiskAcksNothing: when the disk refuses writes, Append returns
// an error wrapping store.ErrUnavailable (the hub answers "temporarily
// unavailable"), nothing of it is in the log, and once the disk works again
// the log goes on from where it was, in this process and after a reopen.
func TestFailingDiskAcksNothing(t *testing.T) {
	t.Parallel()
	disk := &failingDisk{}
	path := filepath.Join(t.TempDir(), "log.db")
	l, err := Open(path, Options{openFile: disk.open})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	if _, err := l.Append(ctx, "m", []store.Entry{{ID: "before", Data: []byte("1")}}); err != nil {
		t.Fatal(err)
	}

	disk.fail(t)
	got, err := l.Append(ctx, "m", []store.Entry{{ID: "lost", Data: []byte("2")}})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Append on a failing disk = %+v, %v; want an error wrapping ErrUnavailable", got, err)
	}
	if got != nil {
		t.Fatalf("Append on a failing disk acked %+v", got)
	}
	if testing.Verbose() {
		t.Logf("error on a failing disk: %v", err)
	}
	if err := l.SaveSnapshot(ctx, "m", 1, []byte("s")); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("SaveSnapshot on a failing disk = %v, want ErrUnavailable", err)
	}
	disk.repair(t)

	if last, err := l.Last(ctx, "m"); err != nil || last != 1 {
		t.Fatalf("Last after the failed append = %d, %v; want 1", last, err)
	}
	// The refused op was not recorded, not even its id.
	got, err = l.Append(ctx, "m", []store.Entry{{ID: "lost", Data: []byte("2")}, {ID: "after", Data: []byte("3")}})
	if err != nil {
		t.Fatalf("Append after the disk came back: %v", err)
	}
	if got[0] != (store.Appended{Seq: 2}) || got[1] != (store.Appended{Seq: 3}) {
		t.Fatalf("Append after the disk came back = %+v, want seqs 2 and 3, not duplicates", got)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen after a disk failure: %v", err)
	}
	defer l2.Close()
	var ids []string
	if err := l2.Read(ctx, "m", 0, func(r store.Record) error { ids = append(ids, r.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 3 || ids[0] != "before" || ids[1] != "lost" || ids[2] != "after" {
		t.Fatalf("log after reopen = %v, want [before lost after]", ids)
	}
}
