// phone.js: the participant's and remote member's app. Join by code (or the
// QR link), pick your name, then follow the meeting: roles at I, bilans at
// II, profiles at III, your group's lists at IV-V, the plenary at VI with the
// consensus check, the outcomes at VII. Edits go through sync.js, so they
// survive a dropped network.
import { t, initLang, onLang, lang } from './i18n.js';
import { h, fill, $, region, api, announce, countdown, uuid } from './render.js';
import { Sync } from './sync.js';
import * as M from './model.js';

const path = location.pathname.split('/').filter(Boolean);
let meetingId = path[0] === 'm' ? path[1] : '';
let joinCode = path[0] === 'join' ? (path[1] || '').toUpperCase() : '';
let sync = null;
let store = null;
let selectedBinome = localStorage.getItem('binome') || '';
let layoutKey = '';
let parts = {};
// DRAW holds each region's draw function, by region name.
const DRAW = {};

initLang($('#lang'));
onLang(() => { if (sync) sync.setLang(lang()); layoutKey = ''; render(); showSync(sync ? sync.status : ''); });

// showSignedOut tells a phone sent back to the join page because its token
// stopped opening the meeting (the facilitators signed it out) why it is
// there and what to do.
function showSignedOut() {
  if (!sessionStorage.getItem('signedOut')) return;
  sessionStorage.removeItem('signedOut');
  const note = h('p', { id: 'signed-out', class: 'card warn', role: 'status', text: t('phone.signedOut') });
  $('#join-h').after(note);
  announce(t('phone.signedOut'), 'info', false);
  onLang(() => { note.textContent = t('phone.signedOut'); });
}

async function start() {
  showSignedOut();
  if (meetingId && localStorage.getItem(`token:${meetingId}`)) return connect();
  if (joinCode) {
    try {
      const info = await api('GET', `/api/join/${encodeURIComponent(joinCode)}`);
      meetingId = info.meetingId;
      $('#join-meeting').textContent = [info.title, info.department, info.date].filter(Boolean).join(' · ');
      if (localStorage.getItem(`token:${meetingId}`)) {
        history.replaceState(null, '', `/m/${meetingId}`);
        return connect();
      }
      showSearch();
    } catch (err) {
      showCodeForm(err.status === 404 ? t('index.unknownCode') : err.message);
    }
    return;
  }
  showCodeForm('');
}

function showCodeForm(msg) {
  $('#join').hidden = false;
  $('#code-form').hidden = false;
  $('#search-box').hidden = true;
  $('#join-error').textContent = msg;
  $('#code').focus();
}

$('#code').addEventListener('input', (e) => {
  e.target.value = e.target.value.toUpperCase().replace(/[^A-Z]/g, '').slice(0, 6);
});
$('#code-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const code = $('#code').value;
  if (!/^[A-Z]{6}$/.test(code)) { $('#join-error').textContent = t('index.badCode'); return; }
  location.assign(`/join/${code}`);
});

function showSearch() {
  $('#join').hidden = false;
  $('#code-form').hidden = true;
  $('#search-box').hidden = false;
  $('#q').focus();
}

let searchSeq = 0;
let searchTimer = 0;
$('#q').addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(search, 150);
});

async function search() {
  const q = $('#q').value.trim();
  const mine = ++searchSeq;
  const list = $('#results');
  if (q.length < 2) { fill(list); return; }
  let found;
  try {
    found = await api('GET', `/api/join/${encodeURIComponent(joinCode)}/members?q=${encodeURIComponent(q)}`);
  } catch (err) {
    if (mine === searchSeq) $('#join-error').textContent = err.status === 429 ? t('phone.slowDown') : err.message;
    return;
  }
  if (mine !== searchSeq) return;
  $('#join-error').textContent = '';
  const items = Array.isArray(found) ? found : (found.members || found.matches || []);
  if (!items.length) { fill(list, h('li', { class: 'muted', text: t('phone.noMatch') })); return; }
  fill(list, items.map((m) => h('li', null, h('button', {
    type: 'button', class: 'pick',
    on: { click: () => join(m) },
  }, h('span', { class: 'grow' }, h('strong', { text: m.name }), m.actionGroup ? h('span', { class: 'muted', text: ` · ${m.actionGroup}` }) : null)))));
}

async function join(m) {
  $('#join-error').textContent = '';
  try {
    const res = await api('POST', `/api/meetings/${encodeURIComponent(meetingId)}/join`, { memberId: m.memberId, remote: $('#remote').checked });
    localStorage.setItem(`token:${meetingId}`, res.token);
    history.replaceState(null, '', `/m/${meetingId}`);
    connect();
  } catch (err) {
    $('#join-error').textContent = err.message;
  }
}

let ticking = 0;

function connect() {
  if (sync) sync.stop();
  $('#join').hidden = true;
  $('#app').hidden = false;
  $('#sync').hidden = false;
  const token = localStorage.getItem(`token:${meetingId}`) || '';
  sync = new Sync({ meetingId, token, scope: 'phone', lang: lang(), keepView: true });
  store = sync.store;
  sync.on('status', (s) => { showSync(s); render(); })
    .on('ack', () => showSync(sync.status))
    .on('update', (kinds) => { render(kinds); })
    .on('refused', (f) => announce(f.message || f.code, 'error'))
    .on('fatal', () => {
      // The token no longer opens the meeting (revoked, purged): join again.
      localStorage.removeItem(`token:${meetingId}`);
      const code = joinCode || store.meeting.joinCode;
      // The join page says why the phone is there (see showSignedOut).
      if (code) sessionStorage.setItem('signedOut', '1');
      location.assign(code ? `/join/${code}` : '/');
    })
    .start();
  if (!ticking) ticking = setInterval(tick, 1000);
}

// send queues an op and redraws at once, so a pending edit shows (marked)
// before the server has it.
function send(op, payload) {
  const id = sync.send(op, payload);
  render();
  return id;
}

function showSync(status) {
  const el = $('#sync');
  if (!status) return;
  el.dataset.state = status;
  const n = sync ? sync.pending() : 0;
  el.textContent = status === 'saved' ? `✓ ${t('sync.saved')}`
    : status === 'sending' ? `↻ ${t('sync.sending')} (${n})`
      : status === 'unavailable' ? `⏸ ${t('sync.unavailable')}${n ? ` (${n})` : ''}`
        : `✕ ${t('sync.offline')}${n ? ` (${n})` : ''}`;
}

function tick() {
  const el = document.getElementById('timer');
  const end = store && store.meeting.timerEnd;
  if (el && end) el.textContent = countdown(new Date(end), store.now());
}

function stepName(step) {
  return t(`step.${step || 'before'}`);
}

function me() {
  return store.get('member', store.memberId);
}

// render draws the page for the current step. The skeleton (forms) is
// rebuilt only when the layout changes; the lists inside it are regions
// refreshed on every change (deferred while the user types in them).
function render() {
  if (!store || !store.get('meeting', '')) return;
  const m = store.meeting;
  const info = m.info || {};
  $('#title').textContent = info.title || t('app.title');
  document.title = info.title || t('app.title');
  if (m.step !== shownStep) {
    if (shownStep !== undefined) announce(`${t('phone.step')} : ${stepName(m.step)}`, 'info', false);
    shownStep = m.step;
  }
  stepbar.update(drawStepbar);
  const self = me();
  const video = $('#video');
  video.hidden = !(self && self.remote && info.videoUrl);
  if (!video.hidden) fill(video, h('a', { href: info.videoUrl, target: '_blank', rel: 'noopener noreferrer', text: t('phone.videoLink') }));

  const step = m.step || 'before';
  const group = M.myGroup(store);
  const bs = M.binomes(store);
  if (bs.length && !bs.find((b) => b.key === selectedBinome)) selectedBinome = bs[0].key;
  const key = [step, group ? group.id : '', selectedBinome, lang(), m.purged, store.role].join('|');
  if (key !== layoutKey) {
    layoutKey = key;
    parts = {};
    buildLayout(step, group);
  }
  for (const [name, r] of Object.entries(parts)) r.update(DRAW[name]);
}

// shownStep is the step on screen: a change is announced (the step bar
// itself is not a live region, its timer ticks every second).
let shownStep;
const stepbar = region($('#stepbar'), { diff: true });

function drawStepbar(el) {
  const m = store.meeting;
  const self = me();
  fill(el,
    h('div', { class: 'grow' },
      h('div', { class: 'muted', text: t('phone.step') }),
      h('strong', { text: stepName(m.step) })),
    m.timerEnd ? h('span', { class: 'timer', id: 'timer', role: 'timer', 'aria-label': t('phone.timer'), text: countdown(new Date(m.timerEnd), store.now()) }) : null,
    self ? h('div', { class: 'muted people', text: self.name }) : null);
}


function part(name, el, draw) {
  DRAW[name] = draw;
  parts[name] = region(el, { diff: true });
  return el;
}

function buildLayout(step, group) {
  const root = $('#content');
  if (store.meeting.purged) { fill(root, h('p', { class: 'card', text: t('phone.purged') })); return; }
  switch (step) {
    case 'before':
      fill(root, part('waiting', h('div'), drawWaiting));
      break;
    case 'I':
      fill(root, part('roles', h('div'), drawRoles));
      break;
    case 'II':
      fill(root, part('bilans', h('div'), drawBilans));
      break;
    case 'III':
      fill(root, part('profiles', h('div'), drawProfiles));
      break;
    case 'IV':
    case 'V':
      if (!group) { fill(root, part('nogroup', h('div'), drawNoGroup)); break; }
      buildGroupPage(root, step, group);
      break;
    case 'VI':
      fill(root, part('check', h('div'), drawCheck), part('plenary', h('div'), drawPlenary));
      break;
    default:
      // The report box is outside the redrawn part: the text it loads stays.
      fill(root, part('outcomes', h('div'), drawOutcomes), store.role === 'rapporteur' ? reportBox() : null);
  }
}

function drawWaiting(el) {
  const self = me();
  fill(el, h('div', { class: 'card' },
    h('p', { class: 'ok', text: `✓ ${t('phone.checkedIn', { name: self ? self.name : '' })}` }),
    h('p', { text: t('phone.waiting') }),
    h('p', { class: 'muted', text: t('phone.connected', { n: (store.presence.members || []).length }) })));
}

function drawNoGroup(el) {
  fill(el, h('p', { class: 'card', text: t('phone.noGroup') }));
}

// openDetails remembers which <details> the participant opened, so a redraw
// keeps them open.
const openDetails = new Set();

function details(key, attrs, summary, ...children) {
  return h('details', {
    ...attrs, open: openDetails.has(key),
    on: { toggle: (e) => { if (e.target.open) openDetails.add(key); else openDetails.delete(key); } },
  }, summary, ...children);
}

function drawRoles(el) {
  fill(el, h('h2', { text: t('phone.rolesTitle') }), M.binomes(store).map((b) => details(`role:${b.key}`, { class: 'card' },
    h('summary', null, h('strong', { text: M.binomeTitle(b) })),
    h('p', { class: 'mission', text: M.binomeMission(b) }))));
}

function drawBilans(el) {
  fill(el, h('h2', { text: t('phone.bilansTitle') }), M.binomes(store).map((b) => {
    const text = store.get('bilan', b.key);
    return h('section', { class: 'card' }, h('h3', { text: M.binomeTitle(b) }),
      h('p', { class: ['mission', text ? '' : 'muted'], text: text || t('phone.noBilan') }));
  }));
}

function profileDetails(p) {
  const rows = [['skills', p.skills], ['experience', p.experience], ['availability', p.availability], ['commitments', p.commitments]]
    .filter(([, v]) => v);
  return h('dl', null, rows.map(([k, v]) => [h('dt', { class: 'muted', text: t(`profile.${k}`) }), h('dd', { text: v })]));
}

function eligibilityText(pid) {
  const why = M.ineligibility(store, pid);
  return why ? `⚠ ${t(`elig.${why}`)}` : '';
}

function drawProfiles(el) {
  fill(el, h('h2', { text: t('phone.profilesTitle') }), M.binomes(store).map((b) => {
    const ps = M.profilesFor(store, b.key);
    return h('section', { class: 'card' }, h('h3', { text: M.binomeTitle(b) }),
      ps.length ? h('ul', { class: 'list' }, ps.map((p) => h('li', null, h('div', { class: 'grow' },
        h('strong', { text: M.profileLabel(store, p.id) }),
        eligibilityText(p.id) ? h('div', { class: 'warn', text: eligibilityText(p.id) }) : null,
        profileDetails(p)))))
        : h('p', { class: 'muted', text: t('phone.noProfile') }));
  }));
}

// The group's page (steps IV and V).
function buildGroupPage(root, step, group) {
  const b = M.binomes(store).find((x) => x.key === selectedBinome);
  const qInput = h('input', { id: 'quality-new', maxLength: 300, autocomplete: 'off', placeholder: t('group.qualityPlaceholder') });
  const addForm = h('form', {
    class: 'row', id: 'quality-add',
    on: {
      submit: (e) => {
        e.preventDefault();
        const text = qInput.value.trim();
        if (!text) return;
        send('quality.add', { groupId: group.id, binome: selectedBinome, quality: { id: uuid(), text } });
        qInput.value = '';
        qInput.focus();
      },
    },
  }, h('label', { for: 'quality-new', class: 'sr-only', text: t('group.addQuality') }), h('div', { class: 'grow' }, qInput),
  h('button', { type: 'submit', text: t('group.add') }));

  fill(root,
    part('grouphead', h('div', { class: 'card' }), drawGroupHead),
    h('nav', { 'aria-label': t('group.binomes') }, part('tabs', h('div', { class: 'tabs' }), drawTabs)),
    b ? h('section', { class: 'card', 'aria-labelledby': 'binome-h' },
      h('h2', { id: 'binome-h', text: M.binomeTitle(b) }),
      h('details', null, h('summary', { text: t('group.mission') }), h('p', { class: 'mission', text: M.binomeMission(b) })),
      h('h3', { text: t('group.qualities') }),
      part('qualities', h('div'), drawQualities),
      addForm,
      step === 'V' ? h('div', null,
        h('h3', { text: t('group.shortlist') }),
        part('shortlist', h('div'), drawShortlist),
        h('details', { class: 'candidates' }, h('summary', { text: t('group.candidates') }),
          part('candidates', h('div'), drawCandidates))) : h('p', { class: 'muted', text: t('group.shortlistAtV') }))
      : null,
    step === 'V' ? part('submit', h('div', { class: 'card' }), drawSubmit) : null);
}

function currentGroup() {
  return M.myGroup(store);
}

function listOf(group, key) {
  return (group && group.lists && group.lists[key]) || { qualities: [], names: [], consensus: false };
}

function drawGroupHead(el) {
  const g = currentGroup();
  if (!g) return;
  const online = (store.presence.groups || {})[g.id] || [];
  const others = online.filter((id) => id !== store.memberId).map((id) => M.memberName(store, id)).filter(Boolean);
  const rap = g.rapporteur ? M.memberName(store, g.rapporteur) : '';
  fill(el,
    h('h2', { text: g.name }),
    h('p', { class: 'people', text: `${t('group.online')} : ${others.length ? others.join(', ') : t('group.nobodyElse')}` }),
    h('div', { class: 'row' },
      h('span', { class: 'grow', text: `${t('group.rapporteur')} : ${rap || t('group.noRapporteur')}` }),
      g.rapporteur !== store.memberId ? h('button', {
        type: 'button', class: 'secondary small',
        on: { click: () => send('group.rapporteur', { groupId: g.id, memberId: store.memberId }) },
        text: t('group.iAmRapporteur'),
      }) : null),
    g.submitted ? h('p', { class: 'ok', text: `✓ ${t('group.submitted')}` }) : null);
}

function drawTabs(el) {
  const g = currentGroup();
  fill(el, M.binomes(store).map((b) => {
    const l = listOf(g, b.key);
    const n = (l.names || []).length;
    const q = (l.qualities || []).length;
    return h('button', {
      type: 'button', class: 'secondary', 'aria-pressed': String(b.key === selectedBinome),
      on: { click: () => { selectedBinome = b.key; localStorage.setItem('binome', b.key); render(); } },
    }, h('span', { class: 'tabtitle', text: M.binomeTitle(b) }),
    h('span', { class: 'tabcount', text: store.meeting.step === 'V' ? t('group.tabCountsV', { q, n }) : t('group.tabCounts', { q }) }));
  }));
}

function drawQualities(el) {
  const g = currentGroup();
  const qs = listOf(g, selectedBinome).qualities || [];
  const pending = sync.outbox.filter((e) => e.op === 'quality.add' && e.payload.groupId === (g && g.id)
    && e.payload.binome === selectedBinome && !qs.some((q) => q.id === e.payload.quality.id));
  if (!qs.length && !pending.length) { fill(el, h('p', { class: 'muted', text: t('group.noQuality') })); return; }
  fill(el, h('ul', { class: 'list', id: 'qualities' }, qs.map((q) => qualityItem(g, q)),
    pending.map((e) => h('li', { class: 'pending' }, h('span', { class: 'grow quality-text', text: e.payload.quality.text }),
      h('span', { class: 'badge', text: `↻ ${t('sync.pendingItem')}` })))));
}

function qualityItem(g, q) {
  const li = h('li', { dataset: { id: q.id } });
  const show = () => fill(li,
    h('span', { class: 'grow quality-text', text: q.text }),
    h('button', { type: 'button', class: 'secondary small', 'aria-label': `${t('group.edit')} : ${q.text}`, text: '✎', on: { click: edit } }),
    h('button', { type: 'button', class: 'secondary small', 'aria-label': `${t('group.remove')} : ${q.text}`, text: '✕', on: { click: () => send('quality.remove', { groupId: g.id, binome: selectedBinome, quality: { id: q.id, text: '' } }) } }));
  const edit = () => {
    const input = h('input', { value: q.text, maxLength: 300, 'aria-label': t('group.edit') });
    const form = h('form', {
      class: 'row grow',
      on: {
        submit: (e) => {
          e.preventDefault();
          const text = input.value.trim();
          if (text && text !== q.text) send('quality.edit', { groupId: g.id, binome: selectedBinome, quality: { id: q.id, text } });
          show();
          render();
        },
      },
    }, h('div', { class: 'grow' }, input), h('button', { type: 'submit', class: 'small', text: t('common.ok') }),
    h('button', { type: 'button', class: 'secondary small', text: t('common.cancel'), on: { click: () => { show(); render(); } } }));
    fill(li, form);
    input.focus();
  };
  show();
  return li;
}

function drawShortlist(el) {
  const g = currentGroup();
  const l = listOf(g, selectedBinome);
  const names = l.names || [];
  const max = l.consensus ? 2 : (M.template(store).namesMaxNoConsen || 4);
  const warnings = [];
  for (const pid of names) {
    const w = eligibilityText(pid);
    if (w) warnings.push(`${M.profileName(store, pid)} : ${w}`);
  }
  if (l.consensus) {
    if (names.length !== 2) warnings.push(`⚠ ${t('group.pairNeedsTwo')}`);
    for (const issue of M.pairIssues(store, names)) if (issue === 'same_person' || issue === 'same_action_group') warnings.push(`⚠ ${t(`elig.${issue}`)}`);
  }
  const candidates = M.profilesFor(store, selectedBinome).filter((p) => !names.includes(p.id));
  const select = h('select', { id: 'pick-profile', 'aria-label': t('group.pickProfile') },
    h('option', { value: '', text: t('group.pickProfile') }),
    candidates.map((p) => h('option', { value: p.id, text: M.profileLabel(store, p.id) + (M.ineligibility(store, p.id) ? ' ⚠' : '') })));
  fill(el,
    h('label', { class: 'check' },
      h('input', {
        type: 'checkbox', id: 'consensus', checked: !!l.consensus,
        on: { change: (e) => send('shortlist.mode', { groupId: g.id, binome: selectedBinome, consensus: e.target.checked }) },
      }),
      h('span', { text: t('group.consensusPair') })),
    h('p', { class: 'muted', text: l.consensus ? t('group.pairHint') : t('group.namesHint', { n: max }) }),
    names.length ? h('ul', { class: 'list', id: 'shortlist' }, names.map((pid) => h('li', null,
      h('span', { class: 'grow', text: M.profileLabel(store, pid) }),
      h('button', {
        type: 'button', class: 'secondary small', 'aria-label': `${t('group.remove')} : ${M.profileName(store, pid)}`, text: '✕',
        on: { click: () => send('shortlist.remove', { groupId: g.id, binome: selectedBinome, profileId: pid }) },
      }))))
      : h('p', { class: 'muted', text: t('group.noName') }),
    warnings.map((w) => h('p', { class: 'warn', role: 'status', text: w })),
    names.length < max ? h('form', {
      class: 'row', id: 'shortlist-add',
      on: {
        submit: (e) => {
          e.preventDefault();
          if (!select.value) return;
          send('shortlist.add', { groupId: g.id, binome: selectedBinome, profileId: select.value });
        },
      },
    }, h('div', { class: 'grow' }, select), h('button', { type: 'submit', text: t('group.add') }))
      : h('p', { class: 'muted', text: t('group.listFull') }));
}

// drawCandidates shows the profiles proposed for the binome, to study them
// before picking.
function drawCandidates(el) {
  const ps = M.profilesFor(store, selectedBinome);
  fill(el, ps.length ? h('ul', { class: 'list' }, ps.map((p) => h('li', null, h('div', { class: 'grow' },
    h('strong', { text: M.profileLabel(store, p.id) }),
    eligibilityText(p.id) ? h('div', { class: 'warn', text: eligibilityText(p.id) }) : null,
    profileDetails(p)))))
    : h('p', { class: 'muted', text: t('phone.noProfile') }));
}

function drawSubmit(el) {
  const g = currentGroup();
  if (!g) return;
  const isRap = g.rapporteur === store.memberId;
  fill(el,
    h('p', { text: g.submitted ? `✓ ${t('group.submitted')}` : t('group.notSubmitted') }),
    isRap ? h('button', {
      type: 'button', id: 'submit-group', class: g.submitted ? 'secondary' : '',
      on: { click: () => send('group.submit', { groupId: g.id, submitted: !g.submitted }) },
      text: g.submitted ? t('group.reopen') : t('group.submit'),
    }) : h('p', { class: 'muted', text: t('group.onlyRapporteur') }));
}

// The plenary (step VI), for everyone.
function drawPlenary(el) {
  fill(el, h('h2', { text: t('plenary.title') }), M.binomes(store).map((b) => {
    const mg = M.merge(store, b.key);
    const dec = store.get('decision', b.key);
    return h('section', { class: 'card' },
      h('h3', { text: M.binomeTitle(b) }),
      dec ? h('p', { class: 'ok', text: outcomeText(dec) }) : null,
      mg.readyPair ? h('p', { class: 'badge ok', text: `✓ ${t('plenary.ready')}` }) : null,
      mg.names.length ? h('ul', { class: 'list' }, mg.names.map((n) => h('li', { class: n.all ? 'hi' : '' },
        h('span', { class: 'grow', text: `${n.all ? '★ ' : ''}${M.profileLabel(store, n.profileId)}` }),
        n.all ? h('span', { class: 'badge', text: t('plenary.allGroups') }) : null,
        h('span', { text: t('plenary.groupsCount', { n: n.count, of: mg.groupCount }) }),
        eligibilityText(n.profileId) ? h('span', { class: 'error', text: '⚠' , title: eligibilityText(n.profileId) }) : null)))
        : h('p', { class: 'muted', text: t('plenary.noName') }));
  }));
}

function outcomeText(dec) {
  if (dec.outcome === 'designated') return `✓ ${t('outcome.designated')} : ${(dec.pair || []).map((p) => M.profileLabel(store, p)).join(' & ')}`;
  if (dec.outcome === 'no_consensus') return `${t('outcome.no_consensus')} : ${(dec.debated || []).map((p) => M.profileLabel(store, p)).join(', ')}`;
  return t('outcome.no_candidate');
}

function drawCheck(el) {
  const c = M.openCheck(store);
  if (!c) { fill(el); return; }
  const b = M.binomes(store).find((x) => x.key === c.binome);
  const mine = localStorage.getItem(`answer:${c.id}`) || '';
  const arg = h('textarea', { id: 'objection-argument', maxLength: 1000, required: true });
  const objForm = h('form', {
    class: 'stack', hidden: true,
    on: {
      submit: (e) => {
        e.preventDefault();
        const text = arg.value.trim();
        if (!text) { announce(t('check.argumentRequired'), 'error'); arg.focus(); return; }
        answer(c, 'objection', text);
      },
    },
  }, h('label', { for: 'objection-argument', text: t('check.argument') }), arg,
  h('button', { type: 'submit', class: 'danger', text: t('check.sendObjection') }));
  fill(el, h('section', { class: 'card', 'aria-labelledby': 'check-h' },
    h('h2', { id: 'check-h', text: t('check.title') }),
    h('p', null, h('strong', { text: b ? M.binomeTitle(b) : c.binome }), ' : ',
      (c.pair || []).map((p) => M.profileLabel(store, p)).join(' & ')),
    mine ? h('p', { class: 'ok', text: `${t('check.yourAnswer')} : ${t(`check.${mine}`)}` }) : null,
    h('div', { class: 'answers' },
      h('button', { type: 'button', id: 'answer-support', on: { click: () => answer(c, 'support') }, text: `✓ ${t('check.support')}` }),
      h('button', { type: 'button', id: 'answer-reservation', class: 'secondary', on: { click: () => answer(c, 'reservation') }, text: `~ ${t('check.reservation')}` }),
      h('button', { type: 'button', id: 'answer-objection', class: 'secondary', on: { click: () => { objForm.hidden = false; arg.focus(); } }, text: `✕ ${t('check.objection')}` })),
    objForm));
}

function answer(c, kind, argument) {
  const payload = { checkId: c.id, kind };
  if (argument) payload.argument = argument;
  send('check.answer', payload);
  localStorage.setItem(`answer:${c.id}`, kind);
  announce(`${t('check.yourAnswer')} : ${t(`check.${kind}`)}`, 'info', false);
  layoutKey = '';
  render();
}

function drawOutcomes(el) {
  fill(el, h('h2', { text: t('outcome.title') }), M.binomes(store).map((b) => {
    const dec = store.get('decision', b.key);
    return h('section', { class: 'card' }, h('h3', { text: M.binomeTitle(b) }),
      h('p', { class: dec ? '' : 'muted', text: dec ? outcomeText(dec) : t('outcome.pending') }));
  }));
}

// reportBox lets the meeting's rapporteur read and copy the report.
function reportBox() {
  const pre = h('pre', { class: 'report', id: 'report-text', hidden: true });
  const copy = h('button', {
    type: 'button', class: 'secondary', hidden: true, text: t('report.copy'),
    on: { click: () => navigator.clipboard.writeText(pre.textContent).then(() => announce(t('common.copied')), () => announce(t('common.copyFailed'), 'error')) },
  });
  return h('section', { class: 'card' }, h('h2', { text: t('report.title') }),
    h('button', {
      type: 'button', id: 'report-show',
      on: {
        click: async () => {
          try {
            pre.textContent = await api('GET', `/api/meetings/${encodeURIComponent(meetingId)}/report.txt`, undefined,
              { Authorization: `Bearer ${localStorage.getItem(`token:${meetingId}`)}`, Accept: 'text/plain' });
            pre.hidden = false;
            copy.hidden = false;
          } catch (err) { announce(err.message, 'error'); }
        },
      },
      text: t('report.show'),
    }), copy, pre);
}

// The page starts once every declaration above is initialised.
start();
