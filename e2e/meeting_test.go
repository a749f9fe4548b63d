package e2e

import (
	"fmt"

	"github.com/chromedp/chromedp"
	"net/url"
	"strings"
	"testing"
	"unicode"
)

// memberCSV is an Action Populaire-style export: two homonyms told apart by
// their action group, and David's group certified after the cutoff.
const memberCSV = "Nom;Groupe d'action;Date de certification;E-mail;Téléphone\n" +
	"Alice Martin;GA Bordeaux Centre;10/01/2025;alice.martin@exemple.fr;06 11 11 11 11\n" +
	"Alice Martin;GA Mérignac;2025-02-01;alice.merignac@exemple.fr;06 22 22 22 22\n" +
	"Bruno Petit;GA Talence;2024-11-02;bruno.petit@exemple.fr;06 33 33 33 33\n" +
	"Chloé Durand;GA Pessac;2025-03-01;chloe.durand@exemple.fr;06 44 44 44 44\n" +
	"David Roux;GA Bègles;2026-05-01;david.roux@exemple.fr;06 55 55 55 55\n" +
	"Emma Leroy;GA Lormont;2025-01-20;emma.leroy@exemple.fr;06 66 66 66 66\n"

// badCSV has an impossible date on its third line.
const badCSV = "Nom;Groupe d'action;Date de certification;E-mail;Téléphone\n" +
	"Alice Martin;GA Bordeaux Centre;10/01/2025;alice.martin@exemple.fr;06 11 11 11 11\n" +
	"Bruno Petit;GA Talence;32/13/2024;bruno.petit@exemple.fr;06 33 33 33 33\n"

// contactFragments are pieces of the contact details that must never reach
// the projector or a participant's phone.
var contactFragments = []string{"exemple.fr", "alice.martin", "emma.leroy", "06 11 11", "06 66 66"}

// phoneDigits are the phone numbers' significant digits: found in the
// page's text whatever the formatting (06 11..., +33 6 11..., 0611...).
var phoneDigits = []string{"611111111", "622222222", "633333333", "644444444", "655555555", "666666666"}

// assertNoContact fails when the page's HTML or text holds a contact detail.
// The HTML is searched for the usual phone formats (its ids are UUIDs, full
// of digits); the visible text for the digits in any format.
func assertNoContact(tb *tab) {
	tb.t.Helper()
	html := js[string](tb, `document.documentElement.outerHTML`)
	text := js[string](tb, `document.body.innerText`)
	for _, s := range []string{html, text} {
		for _, c := range contactFragments {
			if strings.Contains(s, c) {
				tb.fail("shows contact detail %q", c)
			}
		}
	}
	for _, p := range phoneDigits {
		for _, format := range []string{"0" + p, "+33" + p, "+33 " + p[:1] + " " + p[1:3], "0" + p[:1] + " " + p[1:3] + " " + p[3:5]} {
			if strings.Contains(html, format) {
				tb.fail("the HTML holds a phone number (%s)", format)
			}
		}
	}
	digits := strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) {
			return r
		}
		return -1
	}, text)
	for _, p := range phoneDigits {
		if strings.Contains(digits, p) {
			tb.fail("the page shows a phone number (%s)", p)
		}
	}
}

// unlabelledJS lists the visible form controls and buttons that a screen
// reader could not name (no label, no aria-label, no text).
const unlabelledJS = `[...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
	.filter((el) => el.offsetParent !== null)
	.filter((el) => {
		if (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')) return false;
		if (el.tagName === 'BUTTON') return !el.textContent.trim();
		if (el.id && document.querySelector('label[for="' + CSS.escape(el.id) + '"]')) return false;
		return !el.closest('label');
	})
	.map((el) => el.outerHTML.slice(0, 120))`

// lowContrastJS lists visible texts whose colour on their background is
// under WCAG AA: 4.5:1, or 3:1 for large text (24px, or 18.66px bold).
// The background is the first opaque one among the element's ancestors.
const lowContrastJS = `(() => {
	const parse = (c) => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null; const p = m[1].split(',').map(Number); return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
	const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
	const bg = (el) => { for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c && c.a > 0.5) return c; } return { r: 255, g: 255, b: 255, a: 1 }; };
	const out = [];
	for (const el of document.querySelectorAll('body *')) {
		if (el.offsetParent === null || el.disabled) continue;
		if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
		const st = getComputedStyle(el);
		const fg = parse(st.color);
		if (!fg) continue;
		const b = bg(el);
		const l1 = lum(fg), l2 = lum(b);
		const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
		const size = parseFloat(st.fontSize), bold = Number(st.fontWeight) >= 700;
		const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
		if (ratio < need) out.push(el.tagName + ' "' + el.textContent.trim().slice(0, 40) + '" ' + ratio.toFixed(2));
	}
	return out;
})()`

// assertLabelled fails when a visible control has no accessible name or a
// visible text is under the WCAG AA contrast.
func assertLabelled(tb *tab) {
	tb.t.Helper()
	if bad := js[[]string](tb, unlabelledJS); len(bad) > 0 {
		tb.fail("controls without an accessible name: %v", bad)
	}
	if bad := js[[]string](tb, lowContrastJS); len(bad) > 0 {
		tb.fail("texts under the WCAG AA contrast: %v", bad)
	}
}

// pickJS selects, in the select matched by css, the option whose text
// contains text, and fires change (as a person choosing it would).
func pickJS(css, text string) string {
	return fmt.Sprintf(`(() => {
		const s = document.querySelector(%s);
		if (!s) return false;
		const o = [...s.options].find((o) => o.text.includes(%s));
		if (!o) return false;
		s.focus();
		s.value = o.value;
		s.dispatchEvent(new Event('change', { bubbles: true }));
		return true;
	})()`, quote(css), quote(text))
}

func (tb *tab) pick(css, text string) {
	tb.t.Helper()
	tb.waitFor("option "+text+" in "+css, fmt.Sprintf(`(() => { const s = document.querySelector(%s); return !!s && [...s.options].some((o) => o.text.includes(%s)); })()`, quote(css), quote(text)))
	if !js[bool](tb, pickJS(css, text)) {
		tb.fail("cannot pick %q in %s", text, css)
	}
}

// clickText clicks the first element matched by css whose text contains
// text.
func (tb *tab) clickText(css, text string) {
	tb.t.Helper()
	expr := fmt.Sprintf(`(() => { const b = [...document.querySelectorAll(%s)].find((e) => e.offsetParent !== null && e.textContent.includes(%s)); if (!b) return false; b.click(); return true; })()`, quote(css), quote(text))
	tb.waitFor(fmt.Sprintf("%s %q", css, text), fmt.Sprintf(`[...document.querySelectorAll(%s)].some((e) => e.offsetParent !== null && e.textContent.includes(%s))`, quote(css), quote(text)))
	if !js[bool](tb, expr) {
		tb.fail("no %s with text %q", css, text)
	}
}

func textHas(css, text string) string {
	return fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && e.textContent.includes(%s); })()`, quote(css), quote(text))
}

// countText is the number of elements matched by css whose text contains
// text.
func countText(css, text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll(%s)].filter((e) => e.textContent.includes(%s)).length`, quote(css), quote(text))
}

// TestMeetingInTheBrowser runs a small meeting end to end: a facilitator
// creates it and imports the members, three phones join (one remote), are
// split in two groups, edit qualities and shortlists (one of them offline
// for a while), the projector follows and never shows a contact detail, a
// consensus check is answered from the phones, and the facilitator records
// the decision and reads the report.
func TestMeetingInTheBrowser(t *testing.T) {
	base := startServer(t)
	browser := newBrowser(t)

	// --- A facilitator creates the meeting from the home page.
	fac := newTab(t, browser, "console", 1280, 900, false)
	fac.navigate(base + "/")
	fac.setValue("#c-title", "Boucle départementale de Gironde")
	fac.setValue("#c-department", "Gironde (33)")
	fac.setValue("#c-date", "2026-06-30")
	fac.setValue("#c-place", "Bordeaux, salle des fêtes")
	fac.setValue("#c-video", "https://visio.exemple.org/boucle33")
	fac.setValue("#c-fac1", "Camille")
	fac.setValue("#c-fac2", "Karim")
	fac.click("#c-parity")
	fac.click("#create-form button[type=submit]")
	fac.waitFor("the meeting's links", `!document.querySelector('#created').hidden && document.querySelector('#out-code').textContent.length === 6`)
	assertLabelled(fac)
	fac.screenshot("home-created.png")
	code := js[string](fac, `document.querySelector('#out-code').textContent`)
	adminURL := js[string](fac, `document.querySelector('#out-admin').href`)
	screenURL := js[string](fac, `document.querySelector('#out-screen').href`)

	// The admin link leaves the secret in a cookie and lands on a clean URL.
	fac.navigate(adminURL)
	fac.waitFor("the console", fmt.Sprintf(`location.pathname.startsWith('/console/') && %s`, textHas("#console-code", code)))
	if u, err := url.Parse(adminURL); err == nil {
		if loc := js[string](fac, `location.href`); strings.Contains(loc, u.Path) {
			fac.fail("the secret stayed in the address bar: %s", loc)
		}
	}
	fac.waitFor("the sync state", `document.querySelector('#sync').dataset.state === 'saved'`)

	// --- Member import: a file with an error is previewed with its line, then the good one.
	fac.click("#nav-members")
	fac.setValue("#csv", badCSV)
	fac.click("#import-preview-btn")
	fac.waitFor("the import error by line", `(() => { const e = document.querySelector('#import-errors'); return !!e && /(Ligne|Line) 3/.test(e.textContent); })()`)
	if js[bool](fac, `!document.querySelector('#import-apply').hidden`) {
		fac.fail("a file with errors can be imported")
	}
	fac.setValue("#csv", memberCSV)
	fac.click("#import-preview-btn")
	fac.waitFor("the import preview", `!document.querySelector('#import-apply').hidden && document.querySelectorAll('#import-preview tbody tr').length === 6`)
	fac.click("#import-apply")
	fac.waitFor("six members", `document.querySelectorAll('#members-table tbody tr').length === 6`)
	assertLabelled(fac)
	fac.screenshot("console-members.png")

	// --- Profiles for the first binome.
	fac.click("#nav-profiles")
	binome := js[string](fac, `document.querySelector('#profile-form input[name=binome]').value`)
	for i, who := range []string{"Bruno Petit (GA Talence)", "Chloé Durand (GA Pessac)", "Emma Leroy (GA Lormont)", "David Roux (GA Bègles)"} {
		fac.pick("#p-member", who)
		fac.click(fmt.Sprintf(`#profile-form input[name=binome][value=%q]`, binome))
		fac.click("#profile-form button[type=submit]")
		fac.waitFor("profile of "+who, fmt.Sprintf(`document.querySelectorAll('#profiles-list > li').length === %d`, i+1))
	}
	fac.waitFor("David flagged ineligible", countText("#profiles-list > li", "David Roux")+` === 1 && `+textHas("#profiles-list", "trop tard"))

	// --- The projector opens its link (its own cookie) and shows the join code.
	screen := newTab(t, browser, "projector", 1920, 1080, false)
	screen.navigate(screenURL)
	screen.waitFor("the projector", fmt.Sprintf(`location.pathname.startsWith('/screen/') && %s`, textHas("#join-code", code)))
	screen.waitFor("the redacted view", `document.body.dataset.audience === 'redacted'`)

	// The projector opened on the facilitators' own laptop (which holds the
	// admin cookie too) still gets the redacted view.
	facScreen := newTabBeside(t, fac, "projector-on-console-laptop", 1280, 720)
	facScreen.navigate(screenURL)
	facScreen.waitFor("the projector's view", `document.body.dataset.audience === 'redacted'`)
	facScreen.close()

	// --- Step I: the binomes and their missions on the projector; English
	// is one tap away.
	fac.click("#nav-steps")
	fac.click(`button[data-step="I"]`)
	screen.waitFor("the missions", `document.querySelectorAll('.missions [data-binome]').length === 6`)
	screen.screenshot("projector-missions.png")
	screen.click("#lang")
	screen.waitFor("the English step name", textHas("#stepname", "The pairs")+` && document.documentElement.lang === 'en'`)
	screen.click("#lang")
	screen.waitFor("the French step name", textHas("#stepname", "Présentation des binômes"))

	// --- Three phones join: homonyms are shown with their action group.
	type phone struct {
		*tab
		search, choose string
		remote         bool
	}
	phones := []*phone{
		{search: "alice", choose: "GA Bordeaux Centre"},
		{search: "brun", choose: "Bruno Petit"},
		{search: "chlo", choose: "Chloé Durand", remote: true},
	}
	for i, p := range phones {
		p.tab = newTab(t, browser, fmt.Sprintf("phone%d", i+1), 360, 640, true)
		p.navigate(base + "/join/" + code)
		p.waitFor("the name search", `!document.querySelector('#search-box').hidden`)
		if p.remote {
			p.click("#remote")
		}
		p.typeInto("#q", p.search)
		if i == 0 {
			p.waitFor("both homonyms", countText("#results li", "Alice Martin")+` === 2 && `+textHas("#results", "GA Mérignac")+` && `+textHas("#results", "GA Bordeaux Centre"))
			assertLabelled(p.tab)
			p.screenshot("phone-join.png")
		}
		p.clickText("#results button", p.choose)
		p.waitFor("checked in", `!document.querySelector('#app').hidden && document.querySelector('#sync').dataset.state === 'saved' && location.pathname.startsWith('/m/')`)
	}
	screen.waitFor("three people connected", textHas("#count", "3 connect"))
	assertNoContact(screen)
	alice, bruno, chloe := phones[0], phones[1], phones[2]
	chloe.waitFor("the video link for the remote member", `!document.querySelector('#video').hidden && document.querySelector('#video a').href.startsWith('https://visio.exemple.org/')`)
	if js[bool](alice.tab, `!document.querySelector('#video').hidden`) {
		alice.fail("an in-person participant sees the video link")
	}

	// The check-in desk counts them.
	fac.waitFor("three present", textHas("#present", "3"))
	fac.click("#nav-checkin")
	fac.waitFor("the check-in desk", countText("#sec-checkin li", "présent·e")+` === 3 && `+countText("#sec-checkin li", "pas arrivé·e")+` === 3`)

	// --- The facilitator splits the present members: remote Chloé gets her own group.
	fac.click("#nav-groups")
	fac.click("#split")
	fac.waitFor("two groups", `document.querySelectorAll('#sec-groups [data-group]').length === 2`)
	assertLabelled(fac)
	fac.screenshot("console-groups.png")

	// Moves: a third group is added, Bruno goes there and back, and the
	// empty group is removed.
	fac.setValue("#g-name", "Groupe 3")
	fac.click("#group-add button[type=submit]")
	fac.waitFor("three groups", `document.querySelectorAll('#sec-groups [data-group]').length === 3`)
	moveBruno := func(to string) {
		fac.t.Helper()
		fac.pick(`#sec-groups select[aria-label$="Bruno Petit"]`, to)
		fac.waitFor("Bruno in "+to, fmt.Sprintf(`[...document.querySelectorAll('#sec-groups [data-group]')].some((g) => g.querySelector('h3').textContent.startsWith(%s) && g.textContent.includes('Bruno Petit'))`, quote(to)))
	}
	moveBruno("Groupe 3")
	moveBruno("Groupe 1")
	fac.clickText("#sec-groups button", "Supprimer ce groupe vide")
	fac.waitFor("two groups again", `document.querySelectorAll('#sec-groups [data-group]').length === 2`)

	// --- Step IV: qualities.
	fac.click("#nav-steps")
	fac.click(`button[data-step="IV"]`)
	fac.setValue("#timer-min", "15")
	fac.clickText("#sec-steps button", "Lancer le minuteur")
	screen.waitFor("the step's timer", `/^1[45]:[0-5][0-9]$/.test(document.querySelector('#timer').textContent)`)
	for _, p := range phones {
		p.waitFor("the group page", `!!document.querySelector('#quality-new')`)
	}
	alice.typeInto("#quality-new", "Aisance à l'oral")
	alice.click("#quality-add button[type=submit]")
	chloe.typeInto("#quality-new", "Connaît la presse locale")
	chloe.click("#quality-add button[type=submit]")
	alice.waitFor("Alice's quality saved", textHas("#qualities", "Aisance à l'oral")+` && document.querySelector('#sync').dataset.state === 'saved'`)
	chloe.waitFor("Chloé's quality saved", textHas("#qualities", "Connaît la presse locale")+` && document.querySelector('#sync').dataset.state === 'saved'`)
	bruno.waitFor("Alice's quality on Bruno's phone", textHas("#qualities", "Aisance à l'oral"))

	// Alice edits her line and removes a mistaken one.
	alice.typeInto("#quality-new", "Ligne en trop")
	alice.click("#quality-add button[type=submit]")
	bruno.waitFor("the extra line", textHas("#qualities", "Ligne en trop"))
	alice.click(`#qualities li:last-child button[aria-label^="Retirer"]`)
	bruno.waitFor("the extra line gone", `!document.querySelector('#qualities').textContent.includes('Ligne en trop')`)
	alice.click(`#qualities li:first-child button[aria-label^="Modifier"]`)
	alice.typeInto("#qualities li:first-child input", "Aisance à l'oral et à l'écrit")
	alice.click("#qualities li:first-child button[type=submit]")
	bruno.waitFor("the edited line", textHas("#qualities", "Aisance à l'oral et à l'écrit"))
	screen.waitFor("both qualities on the projector", textHas("table.matrix", "Aisance à l'oral")+` && `+textHas("table.matrix", "Connaît la presse locale"))

	// Bruno loses the network, edits, reloads, and comes back: his edit is
	// kept on the phone and arrives once.
	bruno.setOffline(true)
	bruno.waitFor("the offline state", `document.querySelector('#sync').dataset.state === 'offline'`)
	bruno.typeInto("#quality-new", "Disponible le soir")
	bruno.click("#quality-add button[type=submit]")
	bruno.waitFor("the pending edit", countText("#qualities li.pending", "Disponible le soir")+` === 1`)
	if !js[bool](bruno.tab, `Object.keys(localStorage).some((k) => k.startsWith('outbox:phone:') && localStorage.getItem(k).includes('Disponible le soir'))`) {
		bruno.fail("the offline edit is not kept on the device")
	}
	assertLabelled(bruno.tab)
	bruno.screenshot("phone-offline.png")

	// The page comes back but the live connection stays blocked: a reload
	// shows the edit still waiting, read back from the device.
	bruno.blockURL(strings.Replace(base, "http://", "ws://", 1) + "/ws")
	bruno.do("reload", chromedp.Reload())
	bruno.waitFor("the pending edit after a reload", countText("#qualities li.pending", "Disponible le soir")+` === 1 && document.querySelector('#sync').dataset.state === 'offline'`)
	if n := js[int](alice.tab, countText("#qualities li", "Disponible le soir")); n != 0 {
		alice.fail("the edit arrived while Bruno's connection was blocked")
	}
	bruno.setOffline(false)
	bruno.waitFor("back online and saved", `document.querySelector('#sync').dataset.state === 'saved'`)
	screen.waitFor("the offline edit on the projector", countText("table.matrix td li", "Disponible le soir")+` === 1`)
	alice.waitFor("the offline edit once on Alice's phone", countText("#qualities li", "Disponible le soir")+` === 1`)
	bruno.waitFor("the offline edit once on Bruno's phone", countText("#qualities li", "Disponible le soir")+` === 1 && document.querySelectorAll('#qualities li.pending').length === 0`)
	if n := js[int](bruno.tab, `Object.keys(localStorage).filter((k) => k.startsWith('outbox:phone:')).length`); n != 0 {
		bruno.fail("the outbox still holds %d entries after the ack", n)
	}
	assertNoContact(screen)

	// --- Step V: shortlists. Both groups pick Emma; group 1 adds Bruno and David.
	fac.click(`button[data-step="V"]`)
	for _, p := range []*phone{alice, chloe} {
		p.waitFor("the shortlist", `!!document.querySelector('#pick-profile')`)
	}
	for _, who := range []string{"Emma Leroy", "Bruno Petit", "David Roux"} {
		alice.pick("#pick-profile", who)
		alice.click("#shortlist-add button[type=submit]")
		alice.waitFor(who+" on the shortlist", textHas("#shortlist", who))
	}
	alice.waitFor("David's eligibility warning", textHas("#content", "David Roux")+` && [...document.querySelectorAll('#content .warn')].some((e) => e.textContent.includes('David Roux'))`)
	chloe.click("#consensus")
	chloe.waitFor("the consensus mode saved", `document.querySelector('#consensus').checked && document.querySelector('#sync').dataset.state === 'saved'`)
	for _, who := range []string{"Emma Leroy", "Chloé Durand"} {
		chloe.pick("#pick-profile", who)
		chloe.click("#shortlist-add button[type=submit]")
		chloe.waitFor(who+" on the shortlist", textHas("#shortlist", who))
	}
	bruno.waitFor("Alice's picks on Bruno's phone", textHas("#shortlist", "Emma Leroy")+` && `+textHas("#shortlist", "David Roux"))
	screen.waitFor("every pick on the projector", countText("table.matrix td", "Emma Leroy")+` === 2 && `+textHas("table.matrix", "Chloé Durand")+` && `+textHas("table.matrix", "David Roux"))

	assertLabelled(screen)
	screen.screenshot("projector-groups.png")

	// Alice becomes her group's rapporteur and submits its list.
	alice.clickText("#content button", "rapporteur")
	alice.waitFor("the submit button", `!!document.querySelector('#submit-group')`)
	alice.click("#submit-group")
	screen.waitFor("1/2 groups submitted", textHas("#submitted", "1/2"))
	alice.do("scroll to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	assertLabelled(alice.tab)
	alice.screenshot("phone-group.png")

	// --- Step VI: the plenary merge; Emma, named by both groups, is highlighted with a mark.
	fac.click(`button[data-step="VI"]`)
	screen.waitFor("the highlight of Emma", fmt.Sprintf(`[...document.querySelectorAll('[data-binome=%q] li.all')].some((e) => e.textContent.includes('Emma Leroy') && e.textContent.includes('★') && /tous les groupes|every group/.test(e.textContent))`, binome))
	if n := js[int](screen, fmt.Sprintf(`[...document.querySelectorAll('[data-binome=%q] li.all')].length`, binome)); n != 1 {
		screen.fail("%d names highlighted, want only Emma", n)
	}
	screen.waitFor("David's eligibility flag", fmt.Sprintf(`[...document.querySelectorAll('[data-binome=%q] li')].some((e) => e.textContent.includes('David Roux') && e.textContent.includes('⚠'))`, binome))
	assertNoContact(screen)
	for _, p := range phones {
		p.waitFor("the plenary", textHas("#content", "Emma Leroy"))
		assertNoContact(p.tab)
	}

	// The facilitator opens a consensus check on Emma and Bruno.
	fac.click("#nav-plenary")
	card := fmt.Sprintf(`#sec-plenary [data-binome=%q]`, binome)
	fac.pick(card+" .check-pair-0", "Emma Leroy")
	fac.pick(card+" .check-pair-1", "Bruno Petit")
	fac.click(card + " .open-check")
	for _, p := range phones {
		p.waitFor("the consensus check", `!!document.querySelector('#answer-support')`)
	}
	alice.click("#answer-support")
	bruno.click("#answer-reservation")
	chloe.click("#answer-objection")
	chloe.typeInto("#objection-argument", "Pas assez disponible en juillet")
	chloe.click("#content form button.danger")
	for _, p := range phones {
		p.waitFor("the answer saved", textHas("#content", "Votre réponse")+` && document.querySelector('#sync').dataset.state === 'saved'`)
	}
	screen.waitFor("the live counts", fmt.Sprintf(`(() => { const b = document.querySelector('[data-binome=%q] .checkbar'); return !!b && b.textContent.includes('Soutien 1') && b.textContent.includes('Réserve 1') && b.textContent.includes('Objection 1'); })()`, binome))
	fac.waitFor("the objection's argument", textHas(card, "Pas assez disponible en juillet")+` && `+textHas(card, "Chloé Durand"))
	assertLabelled(screen)
	screen.screenshot("projector-plenary.png")
	assertNoContact(screen)
	assertLabelled(chloe.tab)
	chloe.screenshot("phone-check.png")

	// It closes the check and records the pair.
	fac.clickText(card+" button", "Clore")
	fac.pick(card+" .decision-pair-0", "Emma Leroy")
	fac.pick(card+" .decision-pair-1", "Bruno Petit")
	fac.click(card + " .record")
	fac.waitFor("the decision", fmt.Sprintf(`(() => { const d = document.querySelector(%s); return !!d && d.textContent.includes('Emma Leroy') && d.textContent.includes('Bruno Petit'); })()`, quote(card+" .decision-now")))
	fac.do("show the card", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%s).scrollIntoView()`, quote(card))))
	assertLabelled(fac)
	fac.screenshot("console-plenary.png")

	// --- Step VII: outcomes on the projector, the report in the console.
	fac.click("#nav-steps")
	fac.click(`button[data-step="VII"]`)
	screen.waitFor("the outcome", fmt.Sprintf(`(() => { const c = document.querySelector('[data-binome=%q]'); return !!c && c.textContent.includes('Emma Leroy') && c.textContent.includes('Bruno Petit'); })()`, binome))
	assertNoContact(screen)
	screen.screenshot("projector-outcomes.png")
	fac.click("#nav-report")
	fac.click("#report-load")
	fac.waitFor("the report", textHas("#report-text", "Emma Leroy")+` && `+textHas("#report-text", "emma.leroy@exemple.fr"))
	assertLabelled(fac)
	fac.screenshot("console-report.png")

	// The facilitators make Alice the meeting's rapporteur: her phone gets
	// the full view (a fresh one) and the report with the contact details.
	fac.click("#nav-meeting")
	fac.pick("#rapporteur", "Alice Martin (GA Bordeaux Centre)")
	alice.waitFor("the report button", `!!document.querySelector('#report-show')`)
	alice.click("#report-show")
	alice.waitFor("the report on the rapporteur's phone", textHas("#report-text", "Emma Leroy")+` && `+textHas("#report-text", "emma.leroy@exemple.fr"))
	alice.screenshot("phone-rapporteur-report.png")
	fac.click("#nav-report")

	// --- The purge: once confirmed, names and contact details are gone
	// everywhere, the report included.
	fac.do("accept the confirmation", chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`))
	fac.click("#purge-confirm")
	fac.click("#purge")
	fac.waitFor("the purge", textHas("#sec-report", "Données effacées"))
	screen.waitFor("the purged projector", textHas("#body", "effacées"))
	fac.click("#report-load")
	fac.waitFor("the report without personal data", `!document.querySelector('#report-text').textContent.includes('Emma Leroy')`)
	for _, c := range contactFragments {
		if js[bool](fac, fmt.Sprintf(`document.querySelector('#report-text').textContent.includes(%s)`, quote(c))) {
			fac.fail("the purged report still holds %q", c)
		}
	}
	if n := js[int](fac, `document.querySelectorAll('#members-table tbody tr').length`); n != 6 {
		fac.fail("%d members after the purge, want 6 anonymous ones", n)
	}
	if js[bool](fac, `document.querySelector('#members-table').textContent.includes('Alice Martin')`) {
		fac.fail("a name survived the purge")
	}
}
