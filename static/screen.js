// screen.js: the projected plenary screen (read-only, redacted view). Big
// type, no scrolling at 1920x1080 for six binomes and up to eight groups,
// and never a contact detail (the server does not send any to this view, and
// this page shows only names and action groups).
import { t, initLang, onLang, lang } from './i18n.js';
import { h, fill, $, countdown } from './render.js';
import { Sync } from './sync.js';
import * as M from './model.js';

const path = location.pathname.split('/').filter(Boolean);
const meetingId = path[0] === 'screen' ? path[1] : '';

initLang($('#lang'));
const sync = new Sync({ meetingId, as: 'projector', scope: 'screen', lang: lang(), readOnly: true });
const store = sync.store;
onLang(() => { sync.setLang(lang()); render(); });
sync.on('update', render)
  // The view this screen gets, for a person (or a test) to check that the
  // projector never has the full one.
  .on('welcome', (f) => { document.body.dataset.audience = f.audience || ''; })
  .on('status', (s) => {
    const el = $('#sync');
    el.dataset.state = s;
    el.textContent = s === 'offline' ? `✕ ${t('sync.offline')}` : '';
  })
  .on('fatal', () => {
    // Revoked (a new screen link was made) or never valid: nothing of the
    // meeting stays on the wall.
    clearInterval(ticker);
    for (const id of ['title', 'stepname', 'submitted', 'timer', 'code-small', 'count']) $(`#${id}`).textContent = '';
    $('#joinbox').hidden = true;
    fill($('#body'), h('p', { class: 'big', text: t('screen.noAccess') }));
  });

const qrURL = `/api/meetings/${encodeURIComponent(meetingId)}/qr.svg`;
$('#qr-small').src = qrURL;
$('#qr-small').alt = t('screen.qrAlt');

function tick() {
  const end = store.meeting.timerEnd;
  $('#timer').textContent = end ? countdown(new Date(end), store.now()) : '';
}

function render() {
  const m = store.meeting;
  if (!store.get('meeting', '')) return;
  const info = m.info || {};
  const step = m.step || 'before';
  $('#title').textContent = [info.title, info.department].filter(Boolean).join(' · ');
  document.title = info.title || t('app.title');
  $('#stepname').textContent = t(`step.${step}`);
  $('#code-small').textContent = m.joinCode || '';
  $('#count').textContent = t('screen.connected', { n: connectedPeople() });
  const gs = M.groups(store);
  $('#submitted').textContent = (step === 'IV' || step === 'V' || step === 'VI') && gs.length
    ? t('screen.submitted', { n: gs.filter((g) => g.submitted).length, of: gs.length }) : '';
  $('#joinbox').hidden = step === 'before';
  tick();
  const body = $('#body');
  if (m.purged) { fill(body, h('p', { class: 'big', text: t('phone.purged') })); return; }
  switch (step) {
    case 'before': return fill(body, welcome());
    case 'I': return fill(body, missions());
    case 'II': return fill(body, bilans());
    case 'III': return fill(body, profiles());
    case 'IV':
    case 'V': return fill(body, matrix(step));
    case 'VI': return fill(body, plenary());
    default: return fill(body, outcomes());
  }
}

// connectedPeople is the number of participants connected (the screens and
// the facilitators' consoles are not people in the room).
function connectedPeople() {
  const p = store.presence;
  if (Array.isArray(p.members)) return p.members.length;
  return Math.max(0, (p.connected || 0) - (p.screens || 0) - (p.facilitators || 0));
}

function welcome() {
  const m = store.meeting;
  const info = m.info || {};
  return h('div', { class: 'welcome' },
    h('img', { src: qrURL, alt: t('screen.qrAlt') }),
    h('div', null,
      h('p', { class: 'big', text: t('screen.joinWith') }),
      h('p', { class: 'code', id: 'join-code', text: m.joinCode || '' }),
      h('p', { class: 'big', text: t('screen.connected', { n: connectedPeople() }) }),
      h('p', { text: [info.date, info.startTime, info.place].filter(Boolean).join(' · ') })));
}

function card(b, ...children) {
  return h('section', { class: 'bcard', dataset: { binome: b.key } }, h('h2', { text: M.binomeTitle(b) }), ...children);
}

function missions() {
  return h('div', { class: 'missions' }, M.binomes(store).map((b) => card(b, h('p', { text: M.binomeMission(b) }))));
}

function bilans() {
  return h('div', { class: 'grid6' }, M.binomes(store).map((b) => card(b, h('p', { text: store.get('bilan', b.key) || '—' }))));
}

function profiles() {
  return h('div', { class: 'grid6' }, M.binomes(store).map((b) => {
    const ps = M.profilesFor(store, b.key);
    return card(b, h('ul', { class: 'names' }, ps.map((p) => nameItem(p.id, ''))));
  }));
}

function flagText(pid) {
  const why = M.ineligibility(store, pid);
  return why ? `⚠ ${t(`elig.short.${why}`)}` : '';
}

function nameItem(pid, count, all) {
  return h('li', { class: all ? 'all' : '' },
    all ? h('span', { text: '★' }) : null,
    h('span', { class: 'n', text: M.profileLabel(store, pid) }),
    all ? h('span', { class: 'cnt', text: t('plenary.allGroups') }) : null,
    count ? h('span', { class: 'cnt', text: count }) : null,
    flagText(pid) ? h('span', { class: 'flag', text: flagText(pid) }) : null);
}

// matrix is the breakout view: binomes down, groups across, each group's
// qualities (IV) or names (V).
function matrix(step) {
  const gs = M.groups(store);
  if (!gs.length) return h('p', { class: 'big', text: t('screen.noGroups') });
  const many = gs.length > 5;
  const limit = many ? 2 : 3;
  // Each cell's content sits in a box of a fixed height (see style.css), so
  // six binomes fit the screen whatever the groups wrote; a long name is cut
  // with an ellipsis on one line rather than pushing a row off the screen.
  const cell = (...children) => h('td', null, h('div', { class: 'cell' }, ...children));
  return h('table', { class: ['matrix', many ? 'many' : ''] },
    h('thead', null, h('tr', null, h('th', { text: '' }), gs.map((g) => h('th', { scope: 'col' },
      g.name, g.submitted ? h('div', { class: 'submitted', text: `✓ ${t('screen.groupSubmitted')}` }) : null)))),
    h('tbody', null, M.binomes(store).map((b) => h('tr', null,
      h('th', { scope: 'row' }, h('div', { class: 'cell', text: M.binomeTitle(b) })),
      gs.map((g) => {
        const l = (g.lists || {})[b.key] || { qualities: [], names: [] };
        const qs = l.qualities || [];
        const names = l.names || [];
        if (step === 'IV') {
          return cell(h('ul', null, qs.slice(0, limit).map((q) => h('li', { text: q.text }))),
            qs.length > limit ? h('div', { class: 'sub', text: t('screen.more', { n: qs.length - limit }) }) : null);
        }
        return cell(
          l.consensus && names.length === 2 ? h('div', { class: 'sub', text: `⚭ ${t('screen.pair')}` }) : null,
          h('ul', null, names.map((pid) => h('li', { text: M.profileName(store, pid) + (M.ineligibility(store, pid) ? ' ⚠' : '') }))),
          h('div', { class: 'sub', text: t('screen.qualities', { n: qs.length }) }));
      })))));
}

function plenary() {
  return h('div', { class: 'grid6' }, M.binomes(store).map((b) => {
    const mg = M.merge(store, b.key);
    const check = M.openCheck(store, b.key);
    const dec = store.get('decision', b.key);
    const counts = M.checkCounts(check);
    const issues = mg.readyPair ? M.pairIssues(store, mg.readyPair) : [];
    return card(b,
      dec ? h('div', { class: 'outcome', text: outcome(dec) }) : null,
      mg.names.length ? h('ul', { class: 'names' }, mg.names.map((n) => nameItem(n.profileId, `${n.count}/${mg.groupCount}`, n.all)))
        : h('p', { class: 'sub', text: t('plenary.noName') }),
      mg.readyPair ? h('div', { class: 'ready', text: `✓ ${t('plenary.ready')}${issues.length ? ` ⚠ ${issues.map((i) => t(`elig.short.${i}`)).join(', ')}` : ''}` }) : null,
      check && check.open ? h('div', { class: 'checkbar', role: 'status' },
        `${t('check.title')} : ${(check.pair || []).map((p) => M.profileName(store, p)).join(' & ')} — `,
        `${t('check.support')} ${counts.support} · ${t('check.reservation')} ${counts.reservation} · ${t('check.objection')} ${counts.objection}`) : null);
  }));
}

function outcome(dec) {
  const label = (p) => M.profileLabel(store, p);
  if (dec.outcome === 'designated') return `✓ ${(dec.pair || []).map(label).join(' & ')}`;
  if (dec.outcome === 'no_consensus') return `${t('outcome.no_consensus')} : ${(dec.debated || []).map(label).join(', ')}`;
  return t('outcome.no_candidate');
}

function outcomes() {
  return h('div', { class: 'grid6' }, M.binomes(store).map((b) => {
    const dec = store.get('decision', b.key);
    return card(b, h('p', { class: 'outcome', text: dec ? outcome(dec) : t('outcome.pending') }));
  }));
}

// The page starts once every declaration above is initialised.
sync.start();
const ticker = setInterval(tick, 1000);
