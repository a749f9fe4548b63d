package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// defaultBinomes are the binome keys the relays (which have no template)
// are given; our server's come from its snapshot.
func defaultBinomes() []string {
	return []string{"communication", "materiel", "caisse", "relations-exterieures", "luttes", "formation"}
}

// newMeetingRun makes the clients of meeting k (not connected yet).
func (r *runner) newMeetingRun(k int) *meetingRun {
	wl := r.cfg.wl
	m := &meetingRun{idx: k, participants: make([]*client, wl.Participants)}
	m.projector = &client{r: r, m: m, role: roleProjector, group: -1}
	for i := range m.facilitators {
		m.facilitators[i] = &client{r: r, m: m, role: roleFacilitator, idx: int32(i), group: -1}
	}
	for p := range m.participants {
		m.participants[p] = &client{r: r, m: m, role: roleParticipant, idx: int32(p), group: -1}
	}
	return m
}

// setupRelays names the meetings, groups and tokens for the bare hub and
// the centrifuge peer, which accept anything: groups of GroupSize in order.
func (r *runner) setupRelays() {
	wl := r.cfg.wl
	for k := 0; k < wl.Meetings; k++ {
		m := r.newMeetingRun(k)
		m.id = "lg-" + r.runTag + "-" + strconv.Itoa(k)
		m.binomes = defaultBinomes()
		groups := (wl.Participants + wl.GroupSize - 1) / wl.GroupSize
		for g := 0; g < groups; g++ {
			m.groupIDs = append(m.groupIDs, "g"+strconv.Itoa(g))
		}
		for p, c := range m.participants {
			c.group = int32(p / wl.GroupSize)
			c.token = "p" + strconv.Itoa(p)
		}
		m.projector.token = "projector"
		m.facilitators[0].token, m.facilitators[1].token = "fac0", "fac1"
		r.meetings = append(r.meetings, m)
		// Command ids for centrifuge: 1 connect, then one subscription per
		// channel (the meeting's and every group's at most), then the ops.
		r.cfBase = uint64(2 + 1 + len(m.groupIDs))
	}
}

// setupServer prepares every meeting on our server through its real API:
// create it (REST), add action groups and members (facilitator ops over the
// WebSocket), join each participant (REST: check-in and token), move to
// step IV and split the groups (facilitator ops), then read the group of
// each member from a fresh snapshot. The facilitators stay connected.
func (r *runner) setupServer(ctx context.Context) error {
	wl := r.cfg.wl
	r.meetings = make([]*meetingRun, wl.Meetings)
	errs := make(chan error, wl.Meetings)
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for k := 0; k < wl.Meetings; k++ {
		m := r.newMeetingRun(k)
		r.meetings[k] = m
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := r.setupMeeting(ctx, m); err != nil {
				errs <- fmt.Errorf("meeting %d: %w", m.idx, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	// The set-up's HTTP connections would stay open, idle, through the
	// measured phase (the server closes them after 2 minutes), adding to
	// its memory per WebSocket: close them, so that the measured phase
	// holds the WebSockets alone.
	r.httpMu.Lock()
	for _, c := range r.httpBy {
		c.CloseIdleConnections()
	}
	r.httpMu.Unlock()
	return <-errs
}

// createResponse is the answer of POST /api/meetings.
type createResponse struct {
	MeetingID string `json:"meetingId"`
	JoinCode  string `json:"joinCode"`
	AdminURL  string `json:"adminUrl"`
	ScreenURL string `json:"screenUrl"`
}

// lastPathSegment is the secret at the end of a secret link.
func lastPathSegment(link string) string {
	u, err := url.Parse(link)
	if err != nil {
		return ""
	}
	p := strings.TrimSuffix(u.Path, "/")
	return p[strings.LastIndexByte(p, '/')+1:]
}

// clientFrom is an HTTP client whose connections come from the loopback
// address 127.1.<meeting>.<slot>: our server rate-limits meeting creation
// and joins per client IP (5/s, burst 50), as it should for phones; a
// hundred people of a meeting joining from one address would be throttled,
// so the generator spreads them over loopback addresses like distinct
// phones (the whole 127.0.0.0/8 is loopback on Linux).
func (r *runner) clientFrom(meeting, slot int) *http.Client {
	ip := net.IPv4(127, byte(1+meeting/250), byte(meeting%250), byte(1+slot%250))
	key := ip.String()
	r.httpMu.Lock()
	defer r.httpMu.Unlock()
	if c, ok := r.httpBy[key]; ok {
		return c
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4}}
	r.httpBy[key] = c
	return c
}

func (r *runner) postJSON(ctx context.Context, hc *http.Client, path, bearer string, body, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.t.baseURL+path, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", r.t.baseURL)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	respBody, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s: %s", path, resp.Status, bytes.TrimSpace(respBody))
	}
	if err := json.Unmarshal(respBody, out); err != nil {
		return fmt.Errorf("POST %s: decode answer: %w", path, err)
	}
	return nil
}

func (r *runner) setupMeeting(ctx context.Context, m *meetingRun) error {
	wl := r.cfg.wl
	var created createResponse
	err := r.postJSON(ctx, r.clientFrom(m.idx, 0), "/api/meetings", "", map[string]any{
		"title":        "Charge " + strconv.Itoa(m.idx),
		"department":   "Essai (00)",
		"date":         "2026-06-30",
		"place":        "Salle des fêtes",
		"lang":         "fr",
		"facilitators": []string{"Animatrice A", "Animateur B"},
	}, &created)
	if err != nil {
		return err
	}
	m.id = created.MeetingID
	m.adminSecret = lastPathSegment(created.AdminURL)
	m.screenSecret = lastPathSegment(created.ScreenURL)
	if m.id == "" || m.adminSecret == "" || m.screenSecret == "" {
		return fmt.Errorf("create meeting: incomplete answer %+v", created)
	}
	fac := m.facilitators[0]
	fac.token = m.adminSecret
	m.facilitators[1].token = m.adminSecret
	m.projector.token = m.screenSecret
	cctx, cancel := context.WithTimeout(ctx, r.cfg.connectTimeout)
	defer cancel()
	if err := fac.dial(cctx); err != nil {
		return fmt.Errorf("facilitator: %w", err)
	}
	select {
	case <-fac.sess.Load().ready:
	case <-cctx.Done():
		return fmt.Errorf("facilitator: no snapshot")
	}

	octx, ocancel := context.WithTimeout(ctx, 2*time.Minute)
	defer ocancel()
	n := 0
	op := func(kind, payload string) setupOp {
		n++
		return setupOp{id: fmt.Sprintf("%s%04x-4000-8000-%012x", r.qprefix, uint16(m.idx), n), op: kind, payload: payload}
	}
	// Action groups: one per group of GroupSize members, all certified.
	groups := (wl.Participants + wl.GroupSize - 1) / wl.GroupSize
	var ops []setupOp
	for g := 0; g < groups; g++ {
		ops = append(ops, op("actiongroup.upsert", fmt.Sprintf(`{"actionGroup":{"id":"ga%d","name":"GA %d","certifiedOn":"2026-01-15"}}`, g, g)))
	}
	m.memberIDs = make([]string, wl.Participants)
	for p := range m.memberIDs {
		m.memberIDs[p] = fmt.Sprintf("%s%04x-4000-a000-%012x", r.qprefix, uint16(m.idx), p)
		ops = append(ops, op("member.add", fmt.Sprintf(`{"member":{"id":%q,"name":"Membre %d","actionGroupId":"ga%d"}}`,
			m.memberIDs[p], p, p%groups)))
	}
	if err := fac.setupOps(octx, ops); err != nil {
		return err
	}
	// Joins: a few at a time, as people arriving at the door.
	m.tokens = make([]string, wl.Participants)
	jerrs := make(chan error, wl.Participants)
	jsem := make(chan struct{}, 8)
	var jwg sync.WaitGroup
	for p, member := range m.memberIDs {
		jwg.Add(1)
		jsem <- struct{}{}
		go func() {
			defer jwg.Done()
			defer func() { <-jsem }()
			var joined struct {
				Token string `json:"token"`
			}
			if err := r.postJSON(octx, r.clientFrom(m.idx, 1+p/40), "/api/meetings/"+m.id+"/join", "", map[string]any{"memberId": member, "remote": false}, &joined); err != nil {
				jerrs <- fmt.Errorf("join: %w", err)
				return
			}
			m.tokens[p] = joined.Token
			m.participants[p].token = joined.Token
		}()
	}
	jwg.Wait()
	close(jerrs)
	if err := <-jerrs; err != nil {
		return err
	}
	ops = ops[:0]
	for _, step := range []string{"I", "II", "III", "IV"} {
		ops = append(ops, op("step.set", `{"step":"`+step+`"}`))
	}
	ops = append(ops, op("groups.split", `{"replace":false}`))
	if err := fac.setupOps(octx, ops); err != nil {
		return err
	}

	// The second facilitator's first snapshot tells who is in which group.
	fac2 := m.facilitators[1]
	fac2.keepSnap = true
	if err := fac2.dial(cctx); err != nil {
		return fmt.Errorf("facilitator 2: %w", err)
	}
	select {
	case <-fac2.sess.Load().ready:
	case <-cctx.Done():
		return fmt.Errorf("facilitator 2: no snapshot")
	}
	fac2.mu.Lock()
	snap := fac2.snapshot
	fac2.snapshot, fac2.keepSnap = nil, false
	fac2.mu.Unlock()
	return m.readGroups(snap)
}

// snapshotView is the part of a snapshot the generator needs.
type snapshotView struct {
	State struct {
		Meeting struct {
			Template struct {
				Binomes []struct {
					Key string `json:"key"`
				} `json:"binomes"`
			} `json:"template"`
		} `json:"meeting"`
		Members map[string]struct {
			GroupID string `json:"groupId"`
		} `json:"members"`
	} `json:"state"`
}

// readGroups fills the binome keys and each participant's group from a
// snapshot frame.
func (m *meetingRun) readGroups(snapshot []byte) error {
	var v snapshotView
	if err := json.Unmarshal(snapshot, &v); err != nil {
		return fmt.Errorf("decode snapshot: %w", err)
	}
	for _, b := range v.State.Meeting.Template.Binomes {
		m.binomes = append(m.binomes, b.Key)
	}
	if len(m.binomes) == 0 {
		return fmt.Errorf("snapshot has no template binomes")
	}
	index := map[string]int32{}
	for _, member := range v.State.Members {
		if member.GroupID != "" {
			if _, ok := index[member.GroupID]; !ok {
				index[member.GroupID] = 0
			}
		}
	}
	for g := range index {
		m.groupIDs = append(m.groupIDs, g)
	}
	sort.Strings(m.groupIDs)
	for i, g := range m.groupIDs {
		index[g] = int32(i)
	}
	for p, id := range m.memberIDs {
		member, ok := v.State.Members[id]
		if !ok || member.GroupID == "" {
			return fmt.Errorf("member %d is in no group after groups.split", p)
		}
		m.participants[p].group = index[member.GroupID]
	}
	return nil
}
