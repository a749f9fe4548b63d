package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/boucle/designation/hub"
)

// TestHTTPErrorsSpeakTheClientsLanguage: the pages show an error's message
// as it is, so the HTTP layer's own errors (not only the domain's
// refusals) are in French unless the browser asks for English.
func TestHTTPErrorsSpeakTheClientsLanguage(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	m := app.createMeeting()
	tests := []struct {
		name, method, path, bearer, contentType, body string
		status                                        int
		code, fr, en                                  string
	}{
		{"unknown code", "GET", "/api/join/ZZZZZZ", "", "", "", 404, "not_found",
			"Aucune réunion avec ce code.", "No meeting with that code."},
		{"unknown meeting", "POST", "/api/meetings/nowhere/screen-link", "", "", "", 404, "not_found",
			"Réunion introuvable.", "No such meeting."},
		{"no facilitator secret", "POST", "/api/meetings/" + m.ID + "/screen-link", "", "", "", 401, "unauthorized",
			"Réservé aux animateurs : ouvrez le lien d'animation de la réunion.", "For facilitators only: open the meeting's facilitator link."},
		{"wrong secret", "POST", "/api/meetings/" + m.ID + "/screen-link", "not-the-secret", "", "", 401, "unauthorized",
			"Lien invalide ou révoqué.", "Invalid or revoked link."},
		{"search too short", "GET", "/api/join/" + m.JoinCode + "/members?q=a", "", "", "", 400, "invalid",
			"Tapez au moins 2 lettres.", "Type at least 2 letters."},
		{"file too large", "POST", "/api/meetings/" + m.ID + "/members/import", m.FacSecret, "text/csv", strings.Repeat("x", maxCSVBody+1), 413, "too_large",
			"Fichier trop volumineux (2 Mio au plus).", "File too large (2 MiB at most)."},
		{"no such page", "GET", "/api/nowhere", "", "", "", 404, "not_found",
			"Page introuvable.", "No such page."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, lang := range []struct{ header, want string }{{"", tt.fr}, {"fr-FR,fr;q=0.9", tt.fr}, {"en-GB,en;q=0.8", tt.en}} {
				req, err := http.NewRequest(tt.method, app.url+tt.path, strings.NewReader(tt.body))
				if err != nil {
					t.Fatal(err)
				}
				if tt.bearer != "" {
					req.Header.Set("Authorization", "Bearer "+tt.bearer)
				}
				if tt.contentType != "" {
					req.Header.Set("Content-Type", tt.contentType)
				}
				if lang.header != "" {
					req.Header.Set("Accept-Language", lang.header)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				data, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var e apiError
				if err := json.Unmarshal(data, &e); err != nil {
					t.Fatalf("%d %s: %v", resp.StatusCode, data, err)
				}
				if resp.StatusCode != tt.status || e.Error.Code != tt.code || e.Error.Message != lang.want {
					t.Fatalf("Accept-Language %q: %d %s %q, want %d %s %q", lang.header, resp.StatusCode, e.Error.Code, e.Error.Message, tt.status, tt.code, lang.want)
				}
			}
		})
	}

	// A malformed body keeps the decoder's detail after the message.
	var e apiError
	if st := app.do("POST", "/api/meetings", "", "application/json", strings.NewReader(`{"title":`), &e); st != 400 ||
		!strings.HasPrefix(e.Error.Message, "Requête invalide (JSON) : ") || len(e.Error.Message) <= len("Requête invalide (JSON) : ") {
		t.Fatalf("malformed body: %d %q", st, e.Error.Message)
	}
}
