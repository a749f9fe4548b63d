package main

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/boucle/designation/hub"
	"github.com/boucle/designation/meeting"
	"github.com/boucle/designation/memberscsv"
)

// createMeetingRequest is the body of POST /api/meetings.
type createMeetingRequest struct {
	Title        string   `json:"title"`
	Department   string   `json:"department"`
	Date         string   `json:"date"`
	StartTime    string   `json:"startTime"`
	Place        string   `json:"place"`
	VideoURL     string   `json:"videoUrl"`
	Lang         string   `json:"lang"`
	Facilitators []string `json:"facilitators"`
	Parity       bool     `json:"parity"`
}

// createMeetingResponse holds the two secret links: shown once, never stored
// in clear by the server.
type createMeetingResponse struct {
	MeetingID string `json:"meetingId"`
	JoinCode  string `json:"joinCode"`
	AdminURL  string `json:"adminUrl"`
	ScreenURL string `json:"screenUrl"`
	JoinURL   string `json:"joinUrl"`
}

// createMeeting makes a meeting: a random id, a unique join code, the
// facilitator and projector secrets (only their hashes go in the log).
func (s *Server) createMeeting(c *gin.Context) {
	if rateLimited(c, s.creations) {
		return
	}
	var req createMeetingRequest
	if !decodeJSON(c, &req) {
		return
	}
	lang := req.Lang
	if lang == "" {
		lang = "fr"
	}
	facSecret, scrSecret := newSecret(), newSecret()
	id := uuid.NewString()
	for attempt := 0; ; attempt++ {
		code := newJoinCode()
		if s.hub.CodeTaken(code) {
			continue
		}
		payload, err := json.Marshal(meeting.MeetingCreate{
			Info: meeting.Info{
				Title: req.Title, Department: req.Department, Date: req.Date, StartTime: req.StartTime,
				Place: req.Place, VideoURL: req.VideoURL, Lang: lang,
			},
			JoinCode:           code,
			FacilitatorToken:   hub.TokenHash(facSecret),
			ProjectorToken:     hub.TokenHash(scrSecret),
			FacilitatorsNames:  req.Facilitators,
			ParityConfirmation: req.Parity,
		})
		if err != nil {
			writeError(c, http.StatusBadRequest, string(meeting.CodeInvalid), text{"Réunion invalide.", "Invalid meeting."})
			return
		}
		op := &meeting.Op{ID: uuid.NewString(), Type: meeting.OpMeetingCreate, Actor: meeting.Actor{Role: meeting.RoleSystem}, Payload: payload}
		_, res, err := s.hub.Create(c.Request.Context(), id, op)
		if errors.Is(err, hub.ErrCodeTaken) && attempt < 20 {
			continue
		}
		if err != nil {
			if res.Err != nil {
				writeRefusal(c, res.Err, lang)
				return
			}
			writeHubError(c, err)
			return
		}
		if res.Err != nil {
			writeRefusal(c, res.Err, lang)
			return
		}
		c.JSON(http.StatusCreated, createMeetingResponse{
			MeetingID: id,
			JoinCode:  code,
			AdminURL:  s.publicURL + "/a/" + id + "/" + facSecret,
			ScreenURL: s.publicURL + "/s/" + id + "/" + scrSecret,
			JoinURL:   s.publicURL + "/join/" + code,
		})
		return
	}
}

// roomByCode finds the meeting of a join code (case-insensitive).
// A client IP that spent its unknown-code budget (codeMisses) is answered
// 429 for every code, known or not, until the budget refills.
func (s *Server) roomByCode(c *gin.Context) (*hub.Room, bool) {
	ip := c.ClientIP()
	if !s.codeMisses.has(ip) {
		c.Header("Retry-After", "10")
		writeError(c, http.StatusTooManyRequests, "rate_limited", text{"Trop de codes inconnus : patientez un peu avant de réessayer.", "Too many unknown codes: wait a little before trying again."})
		return nil, false
	}
	code := strings.ToUpper(strings.TrimSpace(c.Param("code")))
	id, ok := s.hub.Lookup(code)
	if ok {
		if room, ok := s.hub.Room(id); ok {
			return room, true
		}
	}
	s.codeMisses.allow(ip)
	writeError(c, http.StatusNotFound, string(meeting.CodeNotFound), text{"Aucune réunion avec ce code.", "No meeting with that code."})
	return nil, false
}

// roomByID finds the meeting of the :id parameter.
func (s *Server) roomByID(c *gin.Context) (*hub.Room, bool) {
	room, ok := s.hub.Room(c.Param("id"))
	if !ok {
		writeError(c, http.StatusNotFound, string(meeting.CodeNotFound), text{"Réunion introuvable.", "No such meeting."})
	}
	return room, ok
}

// joinInfoResponse is what anyone with the join code may see.
type joinInfoResponse struct {
	MeetingID  string       `json:"meetingId"`
	Title      string       `json:"title"`
	Department string       `json:"department"`
	Date       string       `json:"date"`
	Step       meeting.Step `json:"step"`
}

func (s *Server) joinInfo(c *gin.Context) {
	// Rate-limited like the search: join codes must not be guessable by
	// trying them all.
	if rateLimited(c, s.joins) {
		return
	}
	room, ok := s.roomByCode(c)
	if !ok {
		return
	}
	var resp joinInfoResponse
	if err := room.Read(c.Request.Context(), func(st *meeting.State) {
		resp = joinInfoResponse{MeetingID: st.ID, Title: st.Info.Title, Department: st.Info.Department, Date: st.Info.Date, Step: st.Step}
	}); err != nil {
		writeHubError(c, err)
		return
	}
	c.JSON(http.StatusOK, resp)
}

// memberMatch is one result of the member search.
type memberMatch struct {
	MemberID    string `json:"memberId"`
	Name        string `json:"name"`
	ActionGroup string `json:"actionGroup"`
}

// maxMatches is the most members a search returns.
const maxMatches = 8

// searchMembers lets a participant find themself in the list: at most 8
// names for 2 letters or more, accent- and case-insensitive, rate-limited so
// the list cannot be scraped quickly. Names and action groups only.
func (s *Server) searchMembers(c *gin.Context) {
	if rateLimited(c, s.joins) {
		return
	}
	q := memberscsv.Fold(strings.TrimSpace(c.Query("q")))
	if utf8.RuneCountInString(q) < 2 || len(q) > 100 {
		writeError(c, http.StatusBadRequest, string(meeting.CodeInvalid), text{"Tapez au moins 2 lettres.", "Type at least 2 letters."})
		return
	}
	room, ok := s.roomByCode(c)
	if !ok {
		return
	}
	type scored struct {
		m     memberMatch
		score int
		key   string
	}
	var found []scored
	if err := room.Read(c.Request.Context(), func(st *meeting.State) {
		if st.Purged {
			return
		}
		for _, m := range st.Members {
			name := memberscsv.Fold(m.Name)
			i := strings.Index(name, q)
			if i < 0 {
				continue
			}
			score := 2 // inside a word
			if i == 0 {
				score = 0 // start of the name
			} else if name[i-1] == ' ' || name[i-1] == '-' {
				score = 1 // start of a word
			}
			group := ""
			if g := st.ActionGroups[m.ActionGroupID]; g != nil {
				group = g.Name
			}
			found = append(found, scored{memberMatch{m.ID, m.Name, group}, score, name + "\x00" + m.ID})
		}
	}); err != nil {
		writeHubError(c, err)
		return
	}
	slices.SortFunc(found, func(a, b scored) int {
		if a.score != b.score {
			return a.score - b.score
		}
		return strings.Compare(a.key, b.key)
	})
	out := make([]memberMatch, 0, maxMatches)
	for i := 0; i < len(found) && i < maxMatches; i++ {
		out = append(out, found[i].m)
	}
	c.JSON(http.StatusOK, gin.H{"members": out})
}

// joinRequest is the body of POST /api/meetings/:id/join.
type joinRequest struct {
	MemberID string `json:"memberId"`
	Remote   bool   `json:"remote"`
}

// join checks a member in and issues their participant token (the phone
// keeps it; only its hash is in the log).
func (s *Server) join(c *gin.Context) {
	if rateLimited(c, s.joins) {
		return
	}
	room, ok := s.roomByID(c)
	if !ok {
		return
	}
	var req joinRequest
	if !decodeJSON(c, &req) {
		return
	}
	lang := langOf(c)
	system := meeting.Actor{Role: meeting.RoleSystem}
	checkin, _ := json.Marshal(meeting.MemberCheckIn{MemberID: req.MemberID, Remote: req.Remote})
	res, err := room.Submit(c.Request.Context(), &meeting.Op{ID: uuid.NewString(), Type: meeting.OpMemberCheckIn, Actor: system, Payload: checkin})
	if err != nil {
		writeHubError(c, err)
		return
	}
	// Already present is fine: the member is joining from a second device
	// or again after losing their token.
	if res.Err != nil && res.Err.Code != meeting.CodeConflict {
		writeRefusal(c, res.Err, lang)
		return
	}
	secret := newSecret()
	issue, _ := json.Marshal(meeting.TokenIssue{Hash: hub.TokenHash(secret), Role: meeting.RoleParticipant, MemberID: req.MemberID})
	res, err = room.Submit(c.Request.Context(), &meeting.Op{ID: uuid.NewString(), Type: meeting.OpTokenIssue, Actor: system, Payload: issue})
	if err != nil {
		writeHubError(c, err)
		return
	}
	if res.Err != nil {
		writeRefusal(c, res.Err, lang)
		return
	}
	c.JSON(http.StatusOK, gin.H{"token": secret, "memberId": req.MemberID})
}

// facilitator authenticates a facilitator request: Authorization: Bearer
// <secret>, or the meeting's fac_ cookie.
func (s *Server) facilitator(c *gin.Context, room *hub.Room) (meeting.Actor, bool) {
	return s.requireRole(c, room, meeting.RoleFacilitator)
}

// requireRole authenticates the request's secret (bearer first, then the
// facilitator cookie) and checks its role is one of roles.
func (s *Server) requireRole(c *gin.Context, room *hub.Room, roles ...meeting.Role) (meeting.Actor, bool) {
	secret := ""
	if h := c.GetHeader("Authorization"); strings.HasPrefix(h, "Bearer ") {
		secret = strings.TrimSpace(strings.TrimPrefix(h, "Bearer "))
	}
	if secret == "" {
		if ck, err := c.Cookie(facilitatorCookie + room.ID()); err == nil {
			secret = ck
		}
	}
	if secret == "" {
		writeError(c, http.StatusUnauthorized, "unauthorized", text{"Réservé aux animateurs : ouvrez le lien d'animation de la réunion.", "For facilitators only: open the meeting's facilitator link."})
		return meeting.Actor{}, false
	}
	actor, ok := s.authenticate(c, room, secret)
	if !ok {
		writeError(c, http.StatusUnauthorized, "unauthorized", text{"Lien invalide ou révoqué.", "Invalid or revoked link."})
		return meeting.Actor{}, false
	}
	if !slices.Contains(roles, actor.Role) {
		writeError(c, http.StatusForbidden, string(meeting.CodeNotAllowed), text{"Action non autorisée pour votre rôle.", "Not allowed for your role."})
		return meeting.Actor{}, false
	}
	return actor, true
}

// importedGroup and importedMember describe the import preview.
type importedGroup struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	CertifiedOn string `json:"certifiedOn,omitempty"`
	New         bool   `json:"new"`
}

type importedMember struct {
	Line        int    `json:"line"`
	ID          string `json:"id"`
	Name        string `json:"name"`
	ActionGroup string `json:"actionGroup,omitempty"`
	Email       string `json:"email,omitempty"`
	Phone       string `json:"phone,omitempty"`
}

type importResponse struct {
	DryRun       bool                   `json:"dryRun"`
	Applied      bool                   `json:"applied"`
	Seq          uint64                 `json:"seq,omitempty"`
	ActionGroups []importedGroup        `json:"actionGroups"`
	Members      []importedMember       `json:"members"`
	Errors       []memberscsv.LineError `json:"errors"`
	Refusal      *apiErrorBody          `json:"refusal,omitempty"`
}

type apiErrorBody struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// importMembers reads an Action Populaire-style CSV export. With ?dryRun=1
// it only returns the preview; otherwise it applies it as one
// members.import op, all or nothing, and only when no line has an error.
func (s *Server) importMembers(c *gin.Context) {
	room, ok := s.roomByID(c)
	if !ok {
		return
	}
	actor, ok := s.facilitator(c, room)
	if !ok {
		return
	}
	body, err := csvBody(c)
	if err != nil {
		writeBodyError(c, err,
			text{"Fichier trop volumineux (2 Mio au plus).", "File too large (2 MiB at most)."},
			text{"Envoi trop lent : le fichier n'est pas arrivé en entier. Réessayez.", "Upload too slow: the file did not arrive whole. Try again."},
			text{"Impossible de lire le fichier.", "Cannot read the file."})
		return
	}
	parsed := memberscsv.Parse(body)
	dryRun := c.Query("dryRun") == "1" || c.Query("dryRun") == "true"
	resp := importResponse{DryRun: dryRun, ActionGroups: []importedGroup{}, Members: []importedMember{}, Errors: parsed.Errors}
	if resp.Errors == nil {
		resp.Errors = []memberscsv.LineError{}
	}

	// Give ids: an action group already in the meeting (same name, folded)
	// keeps its id.
	existing := map[string]string{}
	existingMembers := map[string]string{} // folded name + action group id -> member id
	if err := room.Read(c.Request.Context(), func(st *meeting.State) {
		for _, g := range st.ActionGroups {
			existing[memberscsv.Fold(g.Name)] = g.ID
		}
		for _, m := range st.Members {
			existingMembers[memberscsv.Fold(m.Name)+"\x00"+m.ActionGroupID] = m.ID
		}
	}); err != nil {
		writeHubError(c, err)
		return
	}
	var payload meeting.MembersImport
	groupIDs := map[string]string{}
	for _, g := range parsed.ActionGroups {
		key := memberscsv.Fold(g.Name)
		id, known := existing[key]
		if !known {
			id = uuid.NewString()
		}
		groupIDs[key] = id
		resp.ActionGroups = append(resp.ActionGroups, importedGroup{ID: id, Name: g.Name, CertifiedOn: g.CertifiedOn, New: !known})
		payload.ActionGroups = append(payload.ActionGroups, meeting.ActionGroup{ID: id, Name: g.Name, CertifiedOn: g.CertifiedOn})
	}
	for _, m := range parsed.Members {
		groupID := groupIDs[memberscsv.Fold(m.ActionGroup)]
		id, known := existingMembers[memberscsv.Fold(m.Name)+"\x00"+groupID]
		if !known {
			id = uuid.NewString() // a member already on the list keeps their id
		}
		resp.Members = append(resp.Members, importedMember{Line: m.Line, ID: id, Name: m.Name, ActionGroup: m.ActionGroup, Email: m.Email, Phone: m.Phone})
		payload.Members = append(payload.Members, meeting.Member{
			ID: id, Name: m.Name, ActionGroupID: groupID, Email: m.Email, Phone: m.Phone,
		})
	}
	if dryRun {
		c.JSON(http.StatusOK, resp)
		return
	}
	if len(parsed.Errors) > 0 {
		c.JSON(http.StatusUnprocessableEntity, resp)
		return
	}
	data, err := json.Marshal(payload)
	if err != nil {
		writeError(c, http.StatusBadRequest, string(meeting.CodeInvalid), text{"Import invalide.", "Invalid import."})
		return
	}
	res, err := room.Submit(c.Request.Context(), &meeting.Op{ID: uuid.NewString(), Type: meeting.OpMembersImport, Actor: actor, Payload: data})
	if err != nil {
		writeHubError(c, err)
		return
	}
	if res.Err != nil {
		resp.Refusal = &apiErrorBody{Code: string(res.Err.Code), Field: res.Err.Field, Message: messageOf(res.Err, langOf(c))}
		c.JSON(statusOf(res.Err.Code), resp)
		return
	}
	resp.Applied = true
	resp.Seq = res.Seq
	c.JSON(http.StatusOK, resp)
}

// csvBody returns the uploaded file: the raw body, or the first file of a
// multipart form.
func csvBody(c *gin.Context) (io.Reader, error) {
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if mt != "multipart/form-data" {
		data, err := io.ReadAll(c.Request.Body)
		if err != nil {
			return nil, err
		}
		return strings.NewReader(string(data)), nil
	}
	form, err := c.MultipartForm()
	if err != nil {
		return nil, err
	}
	for _, files := range form.File {
		if len(files) == 0 {
			continue
		}
		f, err := files[0].Open()
		if err != nil {
			return nil, err
		}
		defer f.Close()
		data, err := io.ReadAll(f)
		if err != nil {
			return nil, err
		}
		return strings.NewReader(string(data)), nil
	}
	return nil, errors.New("no file in the form")
}

// screenLinkResponse holds the projector's new secret link: shown once to
// the facilitator who asked, never stored in clear nor logged.
type screenLinkResponse struct {
	ScreenURL string `json:"screenUrl"`
}

// newScreenLink answers POST /api/meetings/:id/screen-link: a facilitator
// whose projector link leaked (photographed, left open on a lent laptop)
// revokes every projector token, which closes the projector's live
// connection (4005), and gets a fresh secret link for the screen.
func (s *Server) newScreenLink(c *gin.Context) {
	room, ok := s.roomByID(c)
	if !ok {
		return
	}
	actor, ok := s.facilitator(c, room)
	if !ok {
		return
	}
	lang := langOf(c)
	// The domain refuses token.issue once the meeting is purged but still
	// accepts token.revoke: refuse up front rather than revoke the screen
	// without giving a new link.
	purged := false
	if err := room.Read(c.Request.Context(), func(st *meeting.State) { purged = st.Purged }); err != nil {
		writeHubError(c, err)
		return
	}
	if purged {
		writeRefusal(c, &meeting.Error{Code: meeting.CodePurged, Detail: "personal data purged"}, lang)
		return
	}
	revoke, err := json.Marshal(meeting.TokenRevoke{Projector: true})
	if err != nil {
		writeError(c, http.StatusInternalServerError, "internal", text{"Erreur interne : la révocation n'a pas pu être enregistrée.", "Internal error: the revocation could not be saved."})
		return
	}
	res, err := room.Submit(c.Request.Context(), &meeting.Op{ID: uuid.NewString(), Type: meeting.OpTokenRevoke, Actor: actor, Payload: revoke})
	if err != nil {
		writeHubError(c, err)
		return
	}
	if res.Err != nil {
		writeRefusal(c, res.Err, lang)
		return
	}
	secret := newSecret()
	issue, err := json.Marshal(meeting.TokenIssue{Hash: hub.TokenHash(secret), Role: meeting.RoleProjector})
	if err != nil {
		writeError(c, http.StatusInternalServerError, "internal", text{"Erreur interne : le nouveau lien n'a pas pu être créé.", "Internal error: the new link could not be made."})
		return
	}
	system := meeting.Actor{Role: meeting.RoleSystem}
	res, err = room.Submit(c.Request.Context(), &meeting.Op{ID: uuid.NewString(), Type: meeting.OpTokenIssue, Actor: system, Payload: issue})
	if err != nil {
		writeHubError(c, err)
		return
	}
	if res.Err != nil {
		writeRefusal(c, res.Err, lang)
		return
	}
	c.JSON(http.StatusOK, screenLinkResponse{ScreenURL: s.publicURL + "/s/" + room.ID() + "/" + secret})
}
