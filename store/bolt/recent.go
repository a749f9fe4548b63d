package bolt

import (
	"time"

	"go.etcd.io/bbolt"
)

// The ids of a meeting's ops that are not trimmed yet are not written to
// its ids bucket: they are in its ops bucket already (each record starts
// with its op id), and the committer keeps them in memory to tell a re-sent
// op (recentIDs). A trim, which deletes ops, writes their ids to the ids
// bucket in the same transaction, so an id is always on disk in one of the
// two. The ids bucket is a B+tree keyed by op ids, which clients make at
// random (UUIDv4): writing each op's id there rewrote a random page of it
// at every append, about half of what an append cost (BenchmarkAppendIDs).
//
// Files written before hold every op's id in the ids bucket; they are read
// the same way.

// recentIDs is the committer's index of the ops not trimmed yet, per
// meeting: op id -> seq. Only the committer goroutine uses it, inside l.mu's
// read lock; Scrub and Purge, which hold l.mu exclusively, drop a meeting's
// entry. A meeting's entry is built from its ops bucket when an append first
// needs it, and dropped when unused for recentIdle.
type recentIDs struct {
	meetings map[string]*recentMeeting
	commits  int // since the last sweep
}

type recentMeeting struct {
	ids  map[string]uint64
	used time.Time
}

const (
	// recentIdle is how long a meeting's index stays in memory without an
	// append (it is read back from the ops bucket when needed again).
	recentIdle = 10 * time.Minute
	// recentSweepEvery is how many commits go by between two sweeps of the
	// idle indexes.
	recentSweepEvery = 4096
)

// drop forgets a meeting's index (the caller holds l.mu exclusively).
func (r *recentIDs) drop(meeting string) {
	delete(r.meetings, meeting)
}

// txIDs is what one transaction attempt of the committer adds to and
// removes from recentIDs. It is applied only once the transaction is
// committed: an attempt that fails (and is run again without the write that
// failed) leaves recentIDs as it was.
type txIDs struct {
	meetings map[string]*txMeeting
}

type txMeeting struct {
	base   map[string]uint64 // the committed index (nil: read in this attempt, see loaded)
	loaded map[string]uint64 // read from the ops bucket in this attempt
	added  map[string]uint64 // appended in this attempt
	upTo   uint64            // trimmed in this attempt up to this seq (0: none)
}

// meeting is m's part of the attempt. ops is m's ops bucket in the
// attempt's transaction, read when recentIDs has no index of m yet.
func (t *txIDs) meeting(r *recentIDs, m string, ops *bbolt.Bucket) (*txMeeting, error) {
	if tm := t.meetings[m]; tm != nil {
		if tm.base == nil && tm.loaded == nil {
			// Only trimmed so far in this attempt.
			return tm, tm.load(r, m, ops)
		}
		return tm, nil
	}
	if t.meetings == nil {
		t.meetings = map[string]*txMeeting{}
	}
	tm := &txMeeting{}
	t.meetings[m] = tm
	return tm, tm.load(r, m, ops)
}

func (tm *txMeeting) load(r *recentIDs, m string, ops *bbolt.Bucket) error {
	if rm := r.meetings[m]; rm != nil {
		tm.base = rm.ids
		return nil
	}
	tm.loaded = map[string]uint64{}
	c := ops.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		id, err := opID(v)
		if err != nil {
			return err
		}
		tm.loaded[id] = readSeq(k)
	}
	return nil
}

// find is the seq of op id, if it is among the meeting's ops not trimmed.
func (tm *txMeeting) find(id string) (uint64, bool) {
	if seq, ok := tm.added[id]; ok {
		return seq, true
	}
	if seq, ok := tm.loaded[id]; ok {
		return seq, true
	}
	seq, ok := tm.base[id]
	return seq, ok
}

func (tm *txMeeting) add(id string, seq uint64) {
	if tm.added == nil {
		tm.added = map[string]uint64{}
	}
	tm.added[id] = seq
}

// trimmed records that the attempt trimmed the meeting's ops up to upTo.
func (t *txIDs) trimmed(m string, upTo uint64) {
	tm := t.meetings[m]
	if tm == nil {
		if t.meetings == nil {
			t.meetings = map[string]*txMeeting{}
		}
		tm = &txMeeting{}
		t.meetings[m] = tm
	}
	tm.upTo = max(tm.upTo, upTo)
}

// commit applies a committed attempt to r.
func (t *txIDs) commit(r *recentIDs, now time.Time) {
	for m, tm := range t.meetings {
		ids := tm.base
		if tm.loaded != nil {
			ids = tm.loaded
		}
		if ids == nil {
			// Only trimmed, and not indexed: nothing in memory to update.
			if rm := r.meetings[m]; rm != nil && tm.upTo > 0 {
				forgetUpTo(rm.ids, tm.upTo)
			}
			continue
		}
		for id, seq := range tm.added {
			ids[id] = seq
		}
		if tm.upTo > 0 {
			forgetUpTo(ids, tm.upTo)
		}
		if rm := r.meetings[m]; rm != nil {
			rm.used = now // ids is rm.ids
			continue
		}
		if r.meetings == nil {
			r.meetings = map[string]*recentMeeting{}
		}
		r.meetings[m] = &recentMeeting{ids: ids, used: now}
	}
	r.commits++
	if r.commits >= recentSweepEvery {
		r.commits = 0
		for m, rm := range r.meetings {
			if now.Sub(rm.used) > recentIdle {
				delete(r.meetings, m)
			}
		}
	}
}

func forgetUpTo(ids map[string]uint64, upTo uint64) {
	for id, seq := range ids {
		if seq <= upTo {
			delete(ids, id)
		}
	}
}
