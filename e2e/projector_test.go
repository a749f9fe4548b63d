package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/google/uuid"
)

// facilitatorClient is a plain WebSocket client with the admin secret: it
// fills a meeting quickly through the same ops the console sends.
type facilitatorClient struct {
	t       *testing.T
	conn    *websocket.Conn
	binomes []string // the template's binome keys, from the snapshot
}

func dialFacilitator(t *testing.T, base, meetingID, secret string) *facilitatorClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, strings.Replace(base, "http://", "ws://", 1)+"/ws", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	conn.SetReadLimit(16 << 20)
	t.Cleanup(func() { conn.CloseNow() })
	fc := &facilitatorClient{t: t, conn: conn}
	hello, _ := json.Marshal(map[string]any{"type": "hello", "meeting": meetingID, "token": secret, "lastSeq": 0})
	if err := conn.Write(ctx, websocket.MessageText, hello); err != nil {
		t.Fatalf("hello: %v", err)
	}
	for len(fc.binomes) == 0 {
		_, msg, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for the snapshot: %v", err)
		}
		for _, data := range bytes.Split(msg, []byte("\n")) { // one frame per line
			var f struct {
				Type  string
				State struct {
					Meeting struct {
						Template struct {
							Binomes []struct{ Key string }
						}
					}
				}
			}
			if json.Unmarshal(data, &f) != nil || f.Type != "snapshot" {
				continue
			}
			for _, b := range f.State.Meeting.Template.Binomes {
				fc.binomes = append(fc.binomes, b.Key)
			}
			if len(fc.binomes) == 0 {
				t.Fatal("the snapshot has no binome")
			}
		}
	}
	return fc
}

// do sends one op and waits for its ack; a refusal fails the test.
func (fc *facilitatorClient) do(op string, payload any) {
	fc.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	id := uuid.NewString()
	p, _ := json.Marshal(payload)
	frame, _ := json.Marshal(map[string]any{"type": "op", "id": id, "op": op, "payload": json.RawMessage(p)})
	if err := fc.conn.Write(ctx, websocket.MessageText, frame); err != nil {
		fc.t.Fatalf("send %s: %v", op, err)
	}
	for {
		_, msg, err := fc.conn.Read(ctx)
		if err != nil {
			fc.t.Fatalf("waiting for the answer to %s: %v", op, err)
		}
		for _, data := range bytes.Split(msg, []byte("\n")) { // one frame per line
			var f struct {
				Type, ID, Code, Message string
			}
			if json.Unmarshal(data, &f) != nil || f.ID != id {
				continue
			}
			switch f.Type {
			case "ack":
				return
			case "refused":
				fc.t.Fatalf("%s %s refused: %s %s", op, p, f.Code, f.Message)
			}
		}
	}
}

// TestProjectorFitsEightGroups fills a meeting to the size the projector
// must hold without scrolling (six binomes, eight groups, four names each)
// and checks at steps V and VI that nothing overflows the 1920x1080 screen.
func TestProjectorFitsEightGroups(t *testing.T) {
	base := startServer(t)
	browser := newBrowser(t)

	body := `{"title":"Boucle du Nord","department":"Nord (59)","date":"2026-07-01","facilitators":["Camille","Karim"],"parity":true}`
	res, err := http.Post(base+"/api/meetings", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ MeetingID, AdminURL, ScreenURL string }
	if err := json.NewDecoder(res.Body).Decode(&created); err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", res.StatusCode, err)
	}
	res.Body.Close()
	secret := created.AdminURL[strings.LastIndex(created.AdminURL, "/")+1:]

	// Eight members with long names, in eight certified action groups.
	var csv strings.Builder
	csv.WriteString("Nom;Groupe d'action;Date de certification\n")
	names := []string{"Marie-Hélène Lefebvre-Dumont", "Jean-Baptiste Vandenberghe", "Chloé Durand", "Mohamed Benali",
		"Anne-Sophie Delacroix", "Théo Martin", "Fatoumata Diallo", "Pierre-Emmanuel Deschamps"}
	for i, n := range names {
		fmt.Fprintf(&csv, "%s;GA Roubaix-Tourcoing %d;2025-01-%02d\n", n, i+1, i+1)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/api/meetings/"+created.MeetingID+"/members/import", strings.NewReader(csv.String()))
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "text/csv")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var imported struct {
		Members []struct{ ID string }
		Applied bool
	}
	if err := json.NewDecoder(res.Body).Decode(&imported); err != nil || !imported.Applied || len(imported.Members) != len(names) {
		t.Fatalf("import: %d %v %+v", res.StatusCode, err, imported)
	}
	res.Body.Close()

	fc := dialFacilitator(t, base, created.MeetingID, secret)
	profiles := make([]string, len(names))
	for i, m := range imported.Members {
		profiles[i] = uuid.NewString()
		fc.do("profile.add", map[string]any{"profile": map[string]any{"id": profiles[i], "memberId": m.ID, "binomes": fc.binomes}})
	}
	groups := make([]string, 8)
	for g := range groups {
		groups[g] = uuid.NewString()
		fc.do("group.add", map[string]any{"groupId": groups[g], "name": fmt.Sprintf("Groupe %d", g+1)})
	}
	fc.do("step.set", map[string]any{"step": "V"})
	// Each group: two qualities and four names per binome, rotating so that
	// every binome's merge holds all eight names.
	for g, gid := range groups {
		for _, b := range fc.binomes {
			for q := 0; q < 2; q++ {
				fc.do("quality.add", map[string]any{"groupId": gid, "binome": b,
					"quality": map[string]any{"id": uuid.NewString(), "text": fmt.Sprintf("Qualité recherchée numéro %d du groupe %d", q+1, g+1)}})
			}
			for k := 0; k < 4; k++ {
				fc.do("shortlist.add", map[string]any{"groupId": gid, "binome": b, "profileId": profiles[(g+k)%len(profiles)]})
			}
		}
		fc.do("group.submit", map[string]any{"groupId": gid, "submitted": true})
	}

	screen := newTab(t, browser, "projector-8", 1920, 1080, false)
	screen.navigate(created.ScreenURL)
	screen.waitFor("the full matrix at step V", `document.querySelectorAll('table.matrix td li').length === 6 * 8 * 4 && (document.querySelector('#submitted') || {}).textContent.includes('8/8')`)
	assertFits(screen, "table.matrix .cell")
	screen.screenshot("projector-8-groups-V.png")

	fc.do("step.set", map[string]any{"step": "VI"})
	screen.waitFor("the merge of eight groups", `document.querySelectorAll('.grid6 [data-binome] li').length === 6 * 8`)
	assertFits(screen, ".grid6 .bcard")
	screen.screenshot("projector-8-groups-VI.png")
}

// assertFits fails when the page scrolls or when an element matched by css
// (or a list item in it) is cut: content taller or wider than its box.
func assertFits(tb *tab, css string) {
	tb.t.Helper()
	bad := js[[]string](tb, fmt.Sprintf(`(() => {
		const out = [];
		if (document.documentElement.scrollHeight > innerHeight + 1 || document.documentElement.scrollWidth > innerWidth + 1) out.push('the page scrolls');
		for (const el of document.querySelectorAll(%s)) {
			const box = el.getBoundingClientRect();
			if (box.bottom > innerHeight + 1 || box.right > innerWidth + 1) out.push('off the screen: ' + el.textContent.trim().slice(0, 60));
			if (el.scrollHeight > el.clientHeight + 1) out.push('cut: ' + el.textContent.trim().slice(0, 60));
			for (const li of el.querySelectorAll('li')) {
				const r = li.getBoundingClientRect();
				if (r.bottom > box.bottom + 1 || r.bottom > innerHeight + 1) out.push('hidden: ' + li.textContent.trim().slice(0, 40));
			}
		}
		return out;
	})()`, quote(css)))
	if len(bad) > 0 {
		tb.fail("does not fit 1920x1080 (%d problems): %v", len(bad), bad[:min(len(bad), 8)])
	}
}
