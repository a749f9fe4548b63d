package main

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// routes is the whole HTTP surface of the app (docs/PROTOCOL.md describes
// each endpoint).
func (s *Server) routes() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	// Client IPs (rate limits only) come from the TCP peer, or from
	// X-Forwarded-For when the peer is a listed proxy (-trusted-proxies;
	// checked at start). Unlisted, a proxy in front makes everyone share its
	// bucket, which errs on the safe side.
	_ = r.SetTrustedProxies(s.cfg.trustedProxies())
	r.RemoteIPHeaders = []string{"X-Forwarded-For"}
	r.Use(s.recovery(), s.requestLog(), s.securityHeaders(), s.limitBody())

	// Probes.
	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)

	// Pages of the browser app.
	r.GET("/", s.page("index.html"))
	r.GET("/join/:code", s.page("phone.html"))
	r.GET("/m/:meetingId", s.page("phone.html"))
	r.GET("/console/:meetingId", s.page("console.html"))
	r.GET("/screen/:meetingId", s.page("screen.html"))
	r.GET("/static/*file", s.asset)
	// Secret links: set the meeting's cookie, then redirect to a clean URL.
	r.GET("/a/:meetingId/:secret", s.secretLink(facilitatorCookie, "/console/"))
	r.GET("/s/:meetingId/:secret", s.secretLink(projectorCookie, "/screen/"))

	// JSON API.
	api := r.Group("/api")
	api.POST("/meetings", s.createMeeting)
	api.GET("/join/:code", s.joinInfo)
	api.GET("/join/:code/members", s.searchMembers)
	api.POST("/meetings/:id/join", s.join)
	api.POST("/meetings/:id/members/import", s.importMembers)
	api.POST("/meetings/:id/screen-link", s.newScreenLink)
	api.GET("/meetings/:id/report.txt", s.report("txt"))
	api.GET("/meetings/:id/report.csv", s.report("csv"))
	api.GET("/meetings/:id/report.json", s.report("json"))
	api.GET("/meetings/:id/attendance", s.attendance)
	api.GET("/meetings/:id/qr.svg", s.qrCode)

	// Live protocol.
	r.GET("/ws", s.websocket)

	// Operations: Prometheus metrics behind a bearer token (METRICS_TOKEN).
	if s.metrics != nil {
		r.GET("/metrics", gin.WrapH(s.metrics))
	}

	r.NoRoute(func(c *gin.Context) {
		writeError(c, http.StatusNotFound, "not_found", text{"Page introuvable.", "No such page."})
	})
	return r
}
