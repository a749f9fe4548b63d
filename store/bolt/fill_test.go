package bolt

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/boucle/designation/store"
)

// TestOpLogPagesAreFull: ops are only ever appended at the end of their
// meeting's log, so its pages are filled before a new one starts. bbolt's
// default splits them half full: 99 leaf pages for these 600 ops, 60 now.
func TestOpLogPagesAreFull(t *testing.T) {
	l := openTemp(t, Options{})
	ctx := context.Background()
	text := strings.Repeat("é", 120)
	for i := range 300 {
		entries := []store.Entry{
			{ID: fmt.Sprintf("op-%d-a", i), Data: []byte(`{"type":"quality.add","payload":{"text":"` + text + `"}}`)},
			{ID: fmt.Sprintf("op-%d-b", i), Data: []byte(`{"type":"quality.edit","payload":{"text":"` + text + `"}}`)},
		}
		if _, err := l.Append(ctx, "m", entries); err != nil {
			t.Fatal(err)
		}
	}
	var st bbolt.BucketStats
	var pageSize int
	if err := l.view(func(tx *bbolt.Tx) error {
		st = tx.Bucket(rootBucket).Bucket([]byte("m")).Bucket(opsBucket).Stats()
		pageSize = tx.DB().Info().PageSize
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if st.KeyN != 600 {
		t.Fatalf("%d ops in the log, want 600", st.KeyN)
	}
	fill := float64(st.LeafInuse) / float64(st.LeafPageN*pageSize)
	// bbolt leaves at least two keys to the new page: with ops of about
	// 300 bytes, 11 of a page's 12 places at best. Half full is the default.
	if fill < 0.75 {
		t.Fatalf("the op log's %d leaf pages are %.0f%% full, want at least 75%%", st.LeafPageN, 100*fill)
	}
}
