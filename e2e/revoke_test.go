package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"
)

// revokeCSV is a small member list: one phone joins as Alice.
const revokeCSV = "Nom;Groupe d'action;Date de certification;E-mail;Téléphone\n" +
	"Alice Martin;GA Bordeaux Centre;10/01/2025;alice.martin@exemple.fr;06 11 11 11 11\n" +
	"Bruno Petit;GA Talence;2024-11-02;bruno.petit@exemple.fr;06 33 33 33 33\n"

// closeUnauthorized is the close code of a hello whose secret opens nothing
// (docs/PROTOCOL.md, close codes).
const closeUnauthorized = 4001

// confirmNext answers the tab's next JavaScript dialog with OK, as a person
// would, and hands its message over. Subscribed before the click that opens
// the dialog, it cannot miss it.
func (tb *tab) confirmNext() <-chan string {
	msgs := make(chan string, 1)
	ctx, cancel := context.WithTimeout(tb.ctx, waitTimeout)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		defer cancel()
		for ev, err := range dialogs {
			if err != nil {
				close(msgs)
				return
			}
			if _, err := chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true}); err != nil {
				tb.record("accept the dialog: " + err.Error())
			}
			msgs <- ev.Message
			return
		}
	}()
	return msgs
}

// dialogMessage waits for the message of the dialog confirmNext answered.
func (tb *tab) dialogMessage(msgs <-chan string) string {
	tb.t.Helper()
	msg, ok := <-msgs
	if !ok {
		tb.fail("no confirmation dialog was shown")
	}
	return msg
}

// helloClose opens the live connection with a secret, as a script holding
// it would, and returns the close code the server answers with (0 if it
// sent a welcome: the secret still opens the meeting).
func helloClose(t *testing.T, base, meetingID, secret string) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, strings.Replace(base, "http://", "ws://", 1)+"/ws", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.CloseNow()
	hello, _ := json.Marshal(map[string]any{"type": "hello", "meeting": meetingID, "token": secret, "lastSeq": 0})
	if err := conn.Write(ctx, websocket.MessageText, hello); err != nil {
		t.Fatalf("hello: %v", err)
	}
	for {
		_, msg, err := conn.Read(ctx)
		if err != nil {
			return websocket.CloseStatus(err)
		}
		for _, data := range bytes.Split(msg, []byte("\n")) { // one frame per line
			var f struct{ Type string }
			if json.Unmarshal(data, &f) == nil && f.Type == "welcome" {
				return 0
			}
		}
	}
}

// linkStatus is the status of a GET of url, redirects not followed.
func linkStatus(t *testing.T, url string) int {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestRevokeInTheBrowser: from the console, a facilitator signs out a
// participant's phone (after a confirmation that says the member stays
// checked in): the phone lands on the join page saying it was signed out,
// its old token opens nothing, the member is still present and joins again
// with the code. Then "new screen link": the projector open with the old
// link says its link was revoked, the old link is refused, and the new link
// opens a working projector.
func TestRevokeInTheBrowser(t *testing.T) {
	base := startServer(t)
	browser := newBrowser(t)

	// The meeting and its members, through the API the home page uses.
	var created struct{ MeetingID, JoinCode, AdminURL, ScreenURL string }
	body, _ := json.Marshal(map[string]any{"title": "Boucle révocation", "department": "Gironde (33)", "date": "2026-06-30", "parity": true})
	resp, err := http.Post(base+"/api/meetings", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create the meeting: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	id, code := created.MeetingID, created.JoinCode
	facSecret := created.AdminURL[strings.LastIndex(created.AdminURL, "/")+1:]
	req, _ := http.NewRequest("POST", base+"/api/meetings/"+id+"/members/import", strings.NewReader(revokeCSV))
	req.Header.Set("Authorization", "Bearer "+facSecret)
	req.Header.Set("Content-Type", "text/csv")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("import: %d", resp.StatusCode)
	}

	fac := newTab(t, browser, "revoke-console", 1280, 900, false)
	fac.navigate(created.AdminURL)
	fac.waitFor("the console", fmt.Sprintf(`location.pathname.startsWith('/console/') && %s`, textHas("#console-code", code)))
	fac.waitFor("the sync state", `document.querySelector('#sync').dataset.state === 'saved'`)

	screen := newTab(t, browser, "revoke-projector", 1280, 720, false)
	screen.navigate(created.ScreenURL)
	screen.waitFor("the projector", fmt.Sprintf(`location.pathname.startsWith('/screen/') && %s`, textHas("#join-code", code)))

	// --- A phone joins as Alice.
	joinAsAlice := func(p *tab) {
		p.t.Helper()
		p.waitFor("the name search", `!document.querySelector('#search-box').hidden`)
		p.typeInto("#q", "alice")
		p.clickText("#results button", "Alice Martin")
		p.waitFor("checked in", `!document.querySelector('#app').hidden && document.querySelector('#sync').dataset.state === 'saved' && location.pathname.startsWith('/m/')`)
	}
	phone := newTab(t, browser, "revoke-phone", 360, 640, true)
	phone.navigate(base + "/join/" + code)
	joinAsAlice(phone)
	token := js[string](phone, fmt.Sprintf(`localStorage.getItem(%s) || ''`, quote("token:"+id)))
	if token == "" {
		phone.fail("the phone keeps no token")
	}

	// --- The facilitator signs Alice's phone out from the check-in desk.
	fac.click("#nav-checkin")
	signOut := `#sec-checkin button.sign-out[aria-label$="Alice Martin"]`
	fac.waitFor("Alice's sign-out button", fmt.Sprintf(`!!document.querySelector(%s)`, quote(signOut)))
	if n := js[int](fac, `document.querySelectorAll('#sec-checkin button.sign-out').length`); n != 1 {
		fac.fail("%d sign-out buttons, want 1 (only Alice is checked in)", n)
	}
	assertLabelled(fac)
	dialog := fac.confirmNext()
	fac.click(signOut)
	if msg := fac.dialogMessage(dialog); !strings.Contains(msg, "Alice Martin") || !strings.Contains(msg, "présent") || !strings.Contains(msg, "code") {
		fac.fail("the confirmation does not say who stays checked in and can join again with the code: %q", msg)
	}
	fac.waitFor("the announcement", textHas("#announce", "Téléphone de Alice Martin déconnecté"))

	phone.waitFor("the signed-out message on the join page", fmt.Sprintf(`location.pathname === %s && %s && !document.querySelector('#search-box').hidden`,
		quote("/join/"+code), textHas("#signed-out", "déconnecté")))
	if js[bool](phone, fmt.Sprintf(`localStorage.getItem(%s) !== null`, quote("token:"+id))) {
		phone.fail("the revoked token is still kept")
	}
	if got := helloClose(t, base, id, token); got != closeUnauthorized {
		t.Fatalf("hello with the revoked phone token: close %d, want %d", got, closeUnauthorized)
	}
	// Alice is still checked in, and the phone joins again with the code.
	fac.waitFor("Alice still present", `[...document.querySelectorAll('#sec-checkin li')].some((li) => li.textContent.includes('Alice Martin') && li.textContent.includes('présent·e depuis'))`)
	joinAsAlice(phone)

	// --- A new screen link: the old projector is disconnected.
	fac.click("#nav-meeting")
	dialog = fac.confirmNext()
	fac.click("#screen-link-btn")
	if msg := fac.dialogMessage(dialog); !strings.Contains(msg, "écran actuel sera déconnecté") {
		fac.fail("the confirmation does not say the current screen will be disconnected: %q", msg)
	}
	prefix := base + "/s/" + id + "/"
	fac.waitFor("the new screen link", fmt.Sprintf(`(() => { const a = document.querySelector('#screen-link-new'); return !!a && a.href.startsWith(%s) && a.href.length > %d; })()`, quote(prefix), len(prefix)))
	newURL := js[string](fac, `document.querySelector('#screen-link-new').href`)
	if newURL == created.ScreenURL {
		fac.fail("the new screen link is the old one")
	}
	if js[bool](fac, `document.activeElement !== document.querySelector('#screen-link-btn')`) {
		fac.fail("the focus left the button")
	}
	assertLabelled(fac)

	screen.waitFor("the old projector told its link is revoked", textHas("#body", "révoqué"))
	if js[bool](screen, `document.querySelector('#title').textContent !== '' || !document.querySelector('#joinbox').hidden`) {
		screen.fail("the revoked projector still shows the meeting's title or join box")
	}
	if st := linkStatus(t, created.ScreenURL); st != http.StatusNotFound {
		t.Fatalf("the old screen link answers %d, want 404", st)
	}
	screen2 := newTab(t, browser, "revoke-projector-new", 1280, 720, false)
	screen2.navigate(newURL)
	screen2.waitFor("the new projector", fmt.Sprintf(`location.pathname === %s && %s && document.body.dataset.audience === 'redacted'`, quote("/screen/"+id), textHas("#join-code", code)))
	screen2.waitFor("the phone counted on the new projector", textHas("#count", "1 connect"))
}
