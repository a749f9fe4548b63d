package bolt

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// formatOf is the layout version recorded in the file at path (0: none).
func formatOf(t *testing.T, path string) uint64 {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v uint64
	db.View(func(tx *bbolt.Tx) error {
		v = readSeq(tx.Bucket(metaBucket).Get(formatKey))
		return nil
	})
	return v
}

// setFormat records version v in the file at path (0: removes the record,
// as in a file written before versions were recorded).
func setFormat(t *testing.T, path string, v uint64) {
	t.Helper()
	rewrite(t, path, func(tx *bbolt.Tx) error {
		if v == 0 {
			return tx.Bucket(metaBucket).Delete(formatKey)
		}
		return tx.Bucket(metaBucket).Put(formatKey, seqKey(v))
	})
}

func TestFileRecordsItsFormat(t *testing.T) {
	path, es := fileWithOps(t, "a", "b")
	if got := formatOf(t, path); got != fileFormat {
		t.Fatalf("a new file records layout version %d, want %d", got, fileFormat)
	}

	// A file from before versions were recorded opens, keeps its ops, and
	// records the version from then on.
	setFormat(t, path, 0)
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkDups(t, l, es)
	l.Close()
	if got := formatOf(t, path); got != fileFormat {
		t.Fatalf("after opening an unversioned file: version %d, want %d", got, fileFormat)
	}
}

func TestNewerFormatRefusedUntouched(t *testing.T) {
	path, es := fileWithOps(t, "a", "b")
	setFormat(t, path, fileFormat+1)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	l, err := Open(path, Options{})
	if err == nil {
		l.Close()
		t.Fatal("Open accepted a file of a later layout version")
	}
	if !errors.Is(err, ErrNewerFormat) {
		t.Fatalf("Open: %v, want ErrNewerFormat", err)
	}
	for _, want := range []string{path, "newer version", "restore"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error %q does not say %q", err, want)
		}
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("Open changed a file it refused")
	}

	// The file is not locked by the refused Open: the newer server (here,
	// the same file set back to this version) still opens it, ops intact.
	setFormat(t, path, fileFormat)
	l, err = Open(path, Options{LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	checkDups(t, l, es)
}
