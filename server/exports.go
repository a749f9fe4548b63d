package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/boucle/designation/meeting"
	"github.com/boucle/designation/memberscsv"
)

// qrCode serves the QR code of the meeting's join link as SVG. The join
// link holds only the public join code.
func (s *Server) qrCode(c *gin.Context) {
	room, ok := s.roomByID(c)
	if !ok {
		return
	}
	var code string
	if err := room.Read(c.Request.Context(), func(st *meeting.State) { code = st.JoinCode }); err != nil {
		writeHubError(c, err)
		return
	}
	svg, err := qrSVG(s.publicURL + "/join/" + code)
	if err != nil {
		writeError(c, http.StatusInternalServerError, "internal", text{"Impossible de produire le QR code.", "Cannot make the QR code."})
		return
	}
	c.Header("Cache-Control", "public, max-age=3600")
	c.Data(http.StatusOK, "image/svg+xml", svg)
}

// qrSVG renders content as a QR code: one path, one horizontal run of dark
// modules per subpath, with the standard quiet zone.
func qrSVG(content string) ([]byte, error) {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	bits := q.Bitmap()
	n := len(bits)
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges">`, n, n)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y, row := range bits {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			run := 0
			for x+run < len(row) && row[x+run] {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x, y, run, run)
			x += run
		}
	}
	b.WriteString(`"/></svg>`)
	return b.Bytes(), nil
}

// attendanceStyle is the attendance sheet's style, allowed by its hash in
// the page's CSP (no inline style is allowed otherwise).
const attendanceStyle = `body{font-family:sans-serif;margin:1.5cm;color:#000}
h1{font-size:1.4em;margin:0 0 .2em}p{margin:0 0 1em}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #000;padding:.35em .5em;text-align:left;font-size:.95em}
td.sig{width:30%;height:2.2em}td.t{width:4.5em;white-space:nowrap}
@media print{body{margin:0}tr{page-break-inside:avoid}}`

// attendanceTemplate is the printable liste d'émargement.
var attendanceTemplate = template.Must(template.New("attendance").Parse(`<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Liste d'émargement – {{.Title}}</title>
<style>{{.Style}}</style></head>
<body>
<h1>Liste d'émargement</h1>
<p>{{.Title}}{{if .Department}} – {{.Department}}{{end}}{{if .Date}} – {{.Date}}{{end}}{{if .Place}} – {{.Place}}{{end}}<br>
Présent·es : {{.Present}} / {{len .Rows}}</p>
<table>
<thead><tr><th>Nom</th><th>Groupe d'action</th><th>Arrivée</th><th>Départ</th><th>Signature</th></tr></thead>
<tbody>
{{range .Rows}}<tr><td>{{.Name}}{{if .Remote}} (à distance){{end}}</td><td>{{.Group}}</td><td class="t">{{.In}}</td><td class="t">{{.Out}}</td><td class="sig"></td></tr>
{{end}}</tbody></table>
</body></html>
`))

type attendanceRow struct {
	Name, Group, In, Out string
	Remote               bool
}

// attendance serves the printable attendance sheet (facilitators): every
// member, their action group, first arrival and last departure, and an empty
// signature column.
func (s *Server) attendance(c *gin.Context) {
	room, ok := s.roomByID(c)
	if !ok {
		return
	}
	if _, ok := s.facilitator(c, room); !ok {
		return
	}
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		loc = time.UTC
	}
	clock := func(t time.Time) string { return t.In(loc).Format("15:04") }
	data := struct {
		Title, Department, Date, Place string
		Style                          template.CSS
		Present                        int
		Rows                           []attendanceRow
	}{Style: template.CSS(attendanceStyle)}
	var keys []string
	if err := room.Read(c.Request.Context(), func(st *meeting.State) {
		data.Title, data.Department, data.Date, data.Place = st.Info.Title, st.Info.Department, st.Info.Date, st.Info.Place
		for _, m := range st.Members {
			row := attendanceRow{Name: m.Name, Remote: m.Remote}
			if g := st.ActionGroups[m.ActionGroupID]; g != nil {
				row.Group = g.Name
			}
			if len(m.Attendance) > 0 {
				row.In = clock(m.Attendance[0].In)
				if last := m.Attendance[len(m.Attendance)-1]; last.Out != nil {
					row.Out = clock(*last.Out)
				}
			}
			if m.Present {
				data.Present++
			}
			data.Rows = append(data.Rows, row)
			keys = append(keys, memberscsv.Fold(row.Group)+"\x00"+memberscsv.Fold(row.Name))
		}
	}); err != nil {
		writeHubError(c, err)
		return
	}
	idx := make([]int, len(data.Rows))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return strings.Compare(keys[a], keys[b]) })
	sorted := make([]attendanceRow, len(idx))
	for i, j := range idx {
		sorted[i] = data.Rows[j]
	}
	data.Rows = sorted
	var b bytes.Buffer
	if err := attendanceTemplate.Execute(&b, data); err != nil {
		writeError(c, http.StatusInternalServerError, "internal", text{"Impossible de produire la fiche.", "Cannot make the sheet."})
		return
	}
	sum := sha256.Sum256([]byte(attendanceStyle))
	c.Header("Content-Security-Policy", strings.Replace(contentSecurityPolicy,
		"style-src 'self'", "style-src 'self' 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'", 1))
	c.Data(http.StatusOK, "text/html; charset=utf-8", b.Bytes())
}

// report serves the meeting's report (facilitators and the meeting's
// rapporteur: it holds contact details) as copy-ready text, CSV or JSON.
func (s *Server) report(format string) gin.HandlerFunc {
	return func(c *gin.Context) {
		room, ok := s.roomByID(c)
		if !ok {
			return
		}
		if _, ok := s.requireRole(c, room, meeting.RoleFacilitator, meeting.RoleRapporteur); !ok {
			return
		}
		var rep meeting.Report
		if err := room.Read(c.Request.Context(), func(st *meeting.State) { rep = st.Report() }); err != nil {
			writeHubError(c, err)
			return
		}
		lang := c.Query("lang")
		if lang != "en" {
			lang = "fr"
		}
		name := "rapport-" + rep.MeetingID
		switch format {
		case "txt":
			c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(rep.Text(lang)))
		case "csv":
			c.Header("Content-Disposition", `attachment; filename="`+name+`.csv"`)
			c.Data(http.StatusOK, "text/csv; charset=utf-8", rep.CSV())
		default:
			c.JSON(http.StatusOK, rep)
		}
	}
}
