package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/boucle/designation/hub"
	"github.com/boucle/designation/internal/strictjson"
	"github.com/boucle/designation/meeting"
	"github.com/boucle/designation/store"
)

// Server holds the dependencies of the HTTP handlers.
type Server struct {
	cfg       Config
	hub       *hub.Hub
	log       store.Log
	pages     fs.FS        // the browser app; nil serves 503 on pages
	metrics   http.Handler // /metrics (already guarded); nil: no /metrics
	logger    *slog.Logger
	secure    bool   // public URL is https: cookies get Secure
	publicURL string // without trailing slash
	// joins limits member searches and joins per client IP: generous, since
	// a whole room may share one IP (venue Wi-Fi), yet slow enough to stop
	// scraping the member list.
	joins *rateLimiter
	// creations limits meeting creation per client IP.
	creations *rateLimiter
	// codeMisses limits the unknown join codes a client IP may try: once
	// its few misses are spent, every code lookup from it (a valid code
	// too, so the answer tells nothing) waits. Guessing one live code among
	// 24^6 then takes an IP months, while a person who mistypes a code a
	// few times is not hindered.
	codeMisses *rateLimiter
}

// NewServer returns the app's whole HTTP handler (see routes.go). pages is
// the browser app (static.FS()), nil to serve the API only; metrics serves
// /metrics (nil: not served).
func NewServer(cfg Config, h *hub.Hub, log store.Log, pages fs.FS, logger *slog.Logger, metrics http.Handler) http.Handler {
	s := &Server{
		metrics:   metrics,
		cfg:       cfg,
		hub:       h,
		log:       log,
		pages:     pages,
		logger:    logger,
		publicURL: strings.TrimRight(cfg.PublicURL, "/"),
		joins:     newRateLimiter(20, 200, time.Now),
		creations: newRateLimiter(1, 20, time.Now),
		// 10 misses, then one every 10 s.
		codeMisses: newRateLimiter(0.1, 10, time.Now),
	}
	if s.cfg.BodyTimeout <= 0 {
		s.cfg.BodyTimeout = defaultBodyTimeout // a Config not made by parseConfig
	}
	if u, err := url.Parse(s.publicURL); err == nil && u.Scheme == "https" {
		s.secure = true
	}
	return s.routes()
}

// contentSecurityPolicy is sent with every response (docs/PROTOCOL.md): no
// inline script or style, nothing from another origin.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Body size limits, in bytes.
const (
	maxJSONBody = 64 << 10
	maxCSVBody  = 2 << 20
)

// securityHeaders sets the CSP and the other protective headers. Responses
// of the API and of the secret links are never cached.
func (s *Server) securityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if s.secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		p := c.Request.URL.Path
		if strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/a/") || strings.HasPrefix(p, "/s/") {
			h.Set("Cache-Control", "no-store")
		}
		c.Next()
	}
}

// limitBody bounds request bodies: the CSV import gets more room than the
// JSON endpoints. A body must also keep coming: each read waits at most
// cfg.BodyTimeout for data, and the whole body at most bodyTimeoutFactor
// times that (see bodyDeadline). Without it, a client that sends headers
// and then nothing, or a byte now and then, holds a connection, a
// goroutine and what it sent so far for as long as it likes (net/http's
// ReadHeaderTimeout covers the headers only; its ReadTimeout would bound a
// body's whole time but let one that stops hold on until then). Requests
// without a body (the WebSocket's among them) are left alone.
func (s *Server) limitBody() gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.Body != nil && c.Request.Body != http.NoBody {
			limit := int64(maxJSONBody)
			if strings.HasSuffix(c.FullPath(), "/members/import") {
				limit = maxCSVBody
			}
			idle := s.cfg.BodyTimeout
			body := &bodyDeadline{
				ReadCloser: c.Request.Body,
				rc:         http.NewResponseController(c.Writer),
				idle:       idle,
				end:        time.Now().Add(bodyTimeoutFactor * idle),
			}
			c.Request.Body = http.MaxBytesReader(c.Writer, body, limit)
		}
		c.Next()
	}
}

// defaultBodyTimeout is Config.BodyTimeout's default, and
// bodyTimeoutFactor times it bounds a whole body: a 2 MiB CSV file takes
// about a minute at 256 kbit/s.
const (
	defaultBodyTimeout = 20 * time.Second
	bodyTimeoutFactor  = 15
)

// bodyDeadline is a request body that sets the connection's read deadline
// before each read: idle from now, but never past end. Once the body is
// read to its end (or fails) the deadline is cleared, since net/http then
// reads the connection in the background while the handler runs and would
// take a timeout there for a client gone.
type bodyDeadline struct {
	io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
	end  time.Time
	done bool
}

func (b *bodyDeadline) Read(p []byte) (int, error) {
	if b.done {
		return b.ReadCloser.Read(p)
	}
	d := time.Now().Add(b.idle)
	if d.After(b.end) {
		d = b.end
	}
	// An error means the connection cannot take a deadline (HTTP/2 over
	// a transport without one): the body is read without.
	_ = b.rc.SetReadDeadline(d)
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.done = true
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			_ = b.rc.SetReadDeadline(time.Time{})
		}
	}
	return n, err
}

// requestLog writes one line per request with the route pattern, never the
// path (secret links carry secrets in their path) nor the query (member
// search terms are names).
func (s *Server) requestLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "/ws" {
			return // the WebSocket handler logs open and close itself
		}
		if route == "" {
			route = "unmatched"
		}
		s.logger.Info("request",
			"method", c.Request.Method,
			"route", route,
			"status", c.Writer.Status(),
			"duration_ms", time.Since(start).Milliseconds(),
			"bytes", c.Writer.Size(),
		)
	}
}

// recovery turns a handler panic into a 500 without taking the server down
// (and logs it without the request's path or body).
func (s *Server) recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.logger.Error("handler panicked", "route", c.FullPath(), "panic", fmt.Sprint(p))
				if !c.Writer.Written() {
					writeError(c, http.StatusInternalServerError, "internal", text{"Erreur interne.", "Internal error."})
				}
				c.Abort()
			}
		}()
		c.Next()
	}
}

// apiError is the body of every error response of the API.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Field   string `json:"field,omitempty"`
		Message string `json:"message"`
	} `json:"error"`
}

// text is a message of the HTTP layer in both languages of the app.
type text struct{ fr, en string }

// writeError answers with an error of the HTTP layer, its message in the
// client's language (langOf): the pages show it as it is.
func writeError(c *gin.Context, status int, code string, msg text) {
	var e apiError
	e.Error.Code = code
	e.Error.Message = msg.fr
	if langOf(c) == "en" {
		e.Error.Message = msg.en
	}
	c.AbortWithStatusJSON(status, e)
}

// statusOf maps a refusal code to its HTTP status, in one place.
func statusOf(code meeting.Code) int {
	switch code {
	case meeting.CodeInvalid, meeting.CodeUnknownOp:
		return http.StatusBadRequest
	case meeting.CodeNotAllowed:
		return http.StatusForbidden
	case meeting.CodeNotFound, meeting.CodeNotCreated:
		return http.StatusNotFound
	case meeting.CodePurged:
		return http.StatusGone
	case meeting.CodeIneligible, meeting.CodeArgumentMissing:
		return http.StatusUnprocessableEntity
	case hub.CodeUnavailable:
		return http.StatusServiceUnavailable
	default: // conflict, wrong_step, group_full, list_full, closed
		return http.StatusConflict
	}
}

// writeRefusal answers with a domain refusal.
func writeRefusal(c *gin.Context, e *meeting.Error, lang string) {
	var body apiError
	body.Error.Code = string(e.Code)
	body.Error.Field = e.Field
	body.Error.Message = messageOf(e, lang)
	c.AbortWithStatusJSON(statusOf(e.Code), body)
}

// messageOf is the user-facing message of a refusal, safe if the domain
// does not know the code.
func messageOf(e *meeting.Error, lang string) (msg string) {
	if e.Code == hub.CodeUnavailable {
		if lang == "en" {
			return "Temporarily unavailable, try again."
		}
		return "Service momentanément indisponible, réessayez."
	}
	defer func() {
		if recover() != nil {
			msg = string(e.Code)
		}
	}()
	return e.MessageFor(lang)
}

// langOf picks fr (default) or en from Accept-Language.
func langOf(c *gin.Context) string {
	if strings.HasPrefix(strings.ToLower(c.GetHeader("Accept-Language")), "en") {
		return "en"
	}
	return "fr"
}

// writeHubError answers when the hub could not take an op (stopping,
// store down, request cancelled).
func writeHubError(c *gin.Context, err error) {
	switch {
	case errors.Is(err, context.Canceled):
		c.Abort()
	default:
		writeRefusal(c, &meeting.Error{Code: hub.CodeUnavailable}, langOf(c))
	}
}

// decodeJSON reads a JSON body strictly: unknown fields and anything after
// the value are refused (strictjson, as the hub's frames and the ops).
func decodeJSON(c *gin.Context, v any) bool {
	body, err := io.ReadAll(c.Request.Body)
	if err == nil {
		err = strictjson.Decode(body, v)
	}
	if err != nil {
		// The decoder's detail is for developers: in English either way.
		writeBodyError(c, err,
			text{"Requête trop volumineuse.", "Request too large."},
			text{"Requête trop lente : elle n'est pas arrivée à temps. Réessayez.", "Request too slow: it did not arrive in time. Try again."},
			text{"Requête invalide (JSON) : " + err.Error(), "Invalid JSON body: " + err.Error()})
		return false
	}
	return true
}

// writeBodyError answers a request whose body could not be read or
// decoded: 413 when it passed limitBody's size, 408 when it came too slowly
// (bodyDeadline), 400 invalid otherwise.
func writeBodyError(c *gin.Context, err error, tooLarge, tooSlow, invalid text) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(c, http.StatusRequestEntityTooLarge, "too_large", tooLarge)
	case errors.Is(err, os.ErrDeadlineExceeded):
		writeError(c, http.StatusRequestTimeout, "timeout", tooSlow)
	default:
		writeError(c, http.StatusBadRequest, string(meeting.CodeInvalid), invalid)
	}
}

// newSecret returns 256 random bits, base64url without padding.
func newSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error()) // never happens on a supported OS
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// joinCodeLetters has no I nor O (read as 1 and 0).
const joinCodeLetters = "ABCDEFGHJKLMNPQRSTUVWXYZ"

// newJoinCode returns 6 random letters of joinCodeLetters.
func newJoinCode() string {
	b := make([]byte, 6)
	for i := range b {
		b[i] = joinCodeLetters[randIntn(len(joinCodeLetters))]
	}
	return string(b)
}

func randIntn(n int) int {
	var b [1]byte
	limit := 256 - 256%n
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic("crypto/rand: " + err.Error())
		}
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}

// rateLimiter is a token bucket per client key (IP), for the endpoints that
// could be used to enumerate names or flood meeting creation.
type rateLimiter struct {
	mu      sync.Mutex
	rate    float64 // tokens per second
	burst   float64
	now     func() time.Time
	buckets map[string]*bucket
	sweep   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(perSecond, burst float64, now func() time.Time) *rateLimiter {
	return &rateLimiter{rate: perSecond, burst: burst, now: now, buckets: map[string]*bucket{}}
}

// allow takes one token of key's bucket.
func (l *rateLimiter) allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(key)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// has says whether key's bucket holds a token, without taking it.
func (l *rateLimiter) has(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refill(key).tokens >= 1
}

// refill returns key's bucket, topped up for the time since its last use.
// The caller holds l.mu.
func (l *rateLimiter) refill(key string) *bucket {
	now := l.now()
	if now.Sub(l.sweep) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.last) > time.Minute {
				delete(l.buckets, k)
			}
		}
		l.sweep = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	return b
}

// rateLimited answers 429 when the client's bucket of l is empty.
func rateLimited(c *gin.Context, l *rateLimiter) bool {
	if l.allow(c.ClientIP()) {
		return false
	}
	c.Header("Retry-After", "1")
	writeError(c, http.StatusTooManyRequests, "rate_limited", text{"Trop de requêtes : patientez un instant.", "Too many requests: wait a moment."})
	return true
}
