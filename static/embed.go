// Package static is the browser app: plain HTML, CSS and ES modules, served
// as they are (no build step). The server embeds them with FS so a single
// binary carries the whole app.
package static

import (
	"embed"
	"io/fs"
)

// files holds the pages, the style sheet and the modules.
//
//go:embed *.html *.css *.js *.svg
var files embed.FS

// FS returns the app's files, rooted at this folder: "index.html",
// "phone.html", "screen.html", "console.html", "style.css", the modules
// ("sync.js", "i18n.js", ...) and the icon.
func FS() fs.FS {
	return files
}
