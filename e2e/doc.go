// Package e2e holds the browser tests of the whole app: the server binary
// built and started as a subprocess, Debian's Chromium driven by chromedp,
// one facilitator console, one projector and three phone-sized pages going
// through a meeting. Screenshots land in e2e/artifacts/ (git-ignored).
package e2e
